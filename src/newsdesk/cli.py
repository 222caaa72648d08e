"""The `newsdesk` command: a thin layer that parses arguments, calls the Python API and prints."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from newsdesk.errors import DataError, NewsdeskError
from newsdesk.version import __version__


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    pairs = [p.split("=", 1) for p in text.split(",")]
    if any(len(p) != 2 for p in pairs):
        raise DataError(f"--columns wants standard=yours pairs, e.g. text=body,topic=section; got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def cmd_prepare(args) -> int:
    from newsdesk.data.prepare import prepare

    manifest = prepare(
        args.source, args.src, args.out, dev=args.dev, test=args.test, seed=args.seed,
        columns=_parse_mapping(args.columns), record_type=args.record_type,
        labels=args.labels.split(",") if args.labels else None, unlabelled=args.unlabelled,
        clean=not args.keep_furniture, split_by=args.split_by,
    )
    for name, c in manifest["splits"].items():
        stories = c.get("stories")
        print(f"{name:>5}: {c['total']:>6}  {json.dumps(c['labels'])}" + (
            f"; {stories['count']} stories, the largest {100 * stories['largest_share']:.0f}% of "
            "the pairs" if stories else ""))
    cleaning = manifest["cleaning"]
    print(f"cleaning: {cleaning['decoding_repairs']} files decoded with a fallback, "
          f"{cleaning['summary_spacing_repairs']} summary spaces repaired, "
          f"{cleaning['duplicates_dropped']} duplicates dropped, page furniture removed from "
          f"{cleaning['furniture_texts']} texts {json.dumps(cleaning['furniture_lines'])}"
          + (f", {cleaning['extracted_pages']} web pages extracted"
             if cleaning["extracted_pages"] else ""))
    print(f"wrote {args.out} in {manifest['seconds']} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description=__doc__)
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    loud.add_argument("-v", "--verbose", action="store_true", help="debug messages too")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare corpora").add_subparsers(dest="data_command",
                                                                          required=True)
    p = data.add_parser("prepare", help="build, clean and split a corpus into a prepared folder")
    p.add_argument("source", choices=["bbc", "fnc1", "reuters", "table"])
    p.add_argument("src", help="corpus folder (bbc, fnc1, reuters); table: a CSV/JSONL/Parquet file (a "
                   "'text' or 'html' column), or an .html/.htm page or a folder of them")
    p.add_argument("--out", required=True, help="prepared folder to write")
    p.add_argument("--dev", type=float, default=0.15, help="dev fraction (default 0.15)")
    p.add_argument("--test", type=float, default=0.0, help="test fraction (default: no test split)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--record-type", "--task", dest="record_type", choices=["article", "stance"],
                   default="article", help="table only: the records the file holds (--task is "
                   "the former name)")
    p.add_argument("--columns", help="table only: standard=yours pairs, e.g. text=body,topic=section")
    p.add_argument("--labels", help="table only: comma-separated list of accepted labels")
    p.add_argument("--unlabelled", action="store_true",
                   help="table only: the records have no labels (otherwise that is an error)")
    p.add_argument("--keep-furniture", action="store_true", help="do not remove page furniture "
                   "(share prompts, credits, bylines, related-story lists) from texts")
    p.add_argument("--split-by", choices=["story", "body"], default="story",
                   help="stance pairs: 'story' (default) keeps every claim and every body on one "
                   "side, setting apart the unrelated pairs that would join two sides; 'body' "
                   "keeps only bodies apart")
    p.set_defaults(func=cmd_prepare)

    from newsdesk import cli_models

    cli_models.add_commands(sub)
    return parser


def set_verbosity(quiet: bool, verbose: bool) -> None:
    """INFO by default; -q: warnings only, and no progress bars; -v: DEBUG."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("newsdesk").setLevel(level)
    if quiet:
        import os

        os.environ["TQDM_DISABLE"] = "1"  # tqdm (the Trainer's, datasets', the job's) stays quiet
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"


def main(argv: list[str] | None = None) -> int:
    """Run the command; a user mistake prints one line and returns 2 (`--debug`: a traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the command
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    set_verbosity(args.quiet, args.verbose)
    try:
        return args.func(args)
    except (NewsdeskError, OSError) as e:
        if debug:
            raise
        logging.getLogger("newsdesk").debug("error", exc_info=True)
        message = " ".join(str(e).split())  # one line, whatever the message holds
        print(f"newsdesk: error: {message}", file=sys.stderr)
        return 2
