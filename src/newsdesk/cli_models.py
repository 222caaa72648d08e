"""CLI commands for training and evaluation: parse, call the Python API, print."""

from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path

from newsdesk.errors import DataError
from newsdesk.inference.options import BACKENDS, CALIBRATION_SAMPLE, PRECISIONS, InferenceOptions
from newsdesk.training.config import CONFIGS, add_config_arguments, list_presets
from newsdesk.training.distributed import is_main, quiet_replicas


def cmd_train(args) -> int:
    from newsdesk.api import make_config, train_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    quiet_replicas()  # under torchrun / accelerate launch, rank 0 alone logs and writes

    task = args.train_task
    fields = {f: getattr(args, f) for f in CONFIGS[task].__dataclass_fields__ if f != "task"}
    config = make_config(task, args.preset, args.config, **fields)  # fails before any work
    command = "newsdesk " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    metrics = train_config(config, resume=args.resume, command=command)
    if is_main():
        print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, float)}, indent=2))
        print(f"model folder: {config.output_dir}")
    return 0


def cmd_evaluate(args) -> int:
    from newsdesk.api import evaluate

    metrics = evaluate(args.model_dir, args.data, split=args.split, out=args.out,
                       fit_temperature=args.fit_temperature)
    print(f"wrote {metrics['_written']}")
    return 0


def cmd_analyze(args) -> int:
    # checked before any model library loads, so a wrong option fails at once
    options = InferenceOptions(device=args.device, precision=args.precision,
                               backend=args.backend, max_tokens=args.max_tokens,
                               cascade=args.cascade, glance=args.glance,
                               abstain_below=args.abstain_below).resolved()
    folders = {name: getattr(args, name) for name in ("topic", "stance", "summary")}
    if args.models:
        for name in folders:
            if folders[name] is None and (Path(args.models) / name).is_dir():
                folders[name] = str(Path(args.models) / name)
    if not any(folders.values()):
        raise DataError("give at least one of --topic, --stance, --summary (or --models DIR)")
    targets = args.targets or None
    if targets and not folders["stance"]:
        raise DataError("--targets needs a stance model (--stance DIR)")
    if args.engine == "ray":
        from newsdesk.inference.ray import analyze_with_ray

        result = analyze_with_ray(args.input, args.out, **folders, targets=targets,
                                  options=options, batch_size=args.window,
                                  actors=args.actors, cpus_per_actor=args.cpus_per_actor,
                                  gpus_per_actor=args.gpus_per_actor,
                                  clean=not args.keep_furniture)
        print(f"{result['records']} records, {result['errors']} errors"
              f"{' -> ' + result['errors_folder'] if result['errors'] else ''}; "
              f"wrote {result['output']}")
        return 0
    from newsdesk.inference.analyzer import NewsAnalyzer
    from newsdesk.inference.job import check_job, run_job

    check_job(args.input, args.out)  # before the models load
    analyzer = NewsAnalyzer.from_pretrained(**folders, options=options,
                                            clean=not args.keep_furniture)
    result = run_job(analyzer, args.input, args.out, targets=targets, window=args.window,
                     overwrite=args.overwrite)
    rate = (result["records"] - result["resumed_from"]) / max(result["seconds"], 1e-9)
    print(f"{result['records']} records ({result['resumed_from']} done before), "
          f"{result['errors']} errors -> {result['errors_file']}; {rate:.1f} articles/s; "
          f"wrote {result['output']}")
    return 0


def cmd_presets(args) -> int:
    for name, description in list_presets().items():
        print(f"{name:<16}{description}")
    return 0


def cmd_calibrate(args) -> int:
    from newsdesk.data.builders import table
    from newsdesk.data.prepare import load_prepared
    from newsdesk.inference.analyzer import recalibrate
    from newsdesk.inference.calibrate import cache_file, cache_key, folder_fingerprint, load_decision
    from newsdesk.models.folder import read_settings
    from newsdesk.models.loading import check_model_folder

    options = InferenceOptions(device=args.device, backend=args.backend).resolved()
    check_model_folder(Path(args.model_dir))
    task = read_settings(args.model_dir).task_info
    if not args.data:
        key = cache_key(folder_fingerprint(args.model_dir), task.name, options.device,
                        backends=options.backends())
        decision = load_decision(key)
        if decision is None:
            raise DataError(f"{args.model_dir}: not calibrated on this machine yet; give --data "
                            "with articles to calibrate on")
        print(decision.table())
        return 0
    data = Path(args.data)
    if data.is_dir():
        ds = load_prepared(data, "dev")
    elif data.is_file():
        ds = table(data, record_type=task.record_type)
    else:
        raise DataError(f"{data}: no such prepared folder or file")
    rows = ds.select(range(min(len(ds), args.articles)))
    items = [{"text": r["text"], "title": r.get("title")} for r in rows]
    targets = None
    if task.pair:
        if args.target is None and "target" not in rows.column_names:
            raise DataError(f"{data}: no target column to pair the articles with; give --target "
                            "with a claim or headline")
        targets = [args.target or rows[0]["target"]]
    decision = recalibrate(args.model_dir, items, targets, options, sample=args.articles)
    print(decision.table())
    print(f"cached in {cache_file()}")
    return 0


def cmd_refit(args) -> int:
    from newsdesk.training.refit import refit

    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("newsdesk").setLevel(logging.INFO)
    words = ["newsdesk", "refit", args.model_dir, "--out", args.out]
    words += ["--data", args.data] if args.data else []
    command = " ".join(shlex.quote(str(w)) for w in words)
    before, after = refit(args.model_dir, args.out, args.data, args.device, command)
    fitted = after["validation"]
    for key in ("lexical_weight", "offsets"):
        if key in fitted:
            print(f"{key}: {fitted[key]}")
    for key in ("fnc_score", "macro_f1", "micro_f1"):
        if key in before and key in after:
            print(f"dev {key}: {before[key]:.4f} -> {after[key]:.4f}")
    print(f"refitted copy: {args.out}")
    return 0


def cmd_push(args) -> int:
    from newsdesk.models.hub import push

    print(f"uploaded: {push(args.model_dir, args.repo_id, private=args.private)}")
    return 0


def cmd_quickstart(args) -> int:
    from newsdesk.quickstart import quickstart

    quickstart(args.data, args.out, model=args.model, claim=args.claim, show=args.show)
    return 0


def add_commands(sub) -> None:
    """Register `train` and `evaluate` on the `newsdesk` parser."""
    train = sub.add_parser("train", help="fine-tune a model").add_subparsers(dest="train_task",
                                                                            required=True)
    for task, cls in CONFIGS.items():
        p = train.add_parser(task, help=f"fine-tune a {task} model; every config field is a flag")
        p.add_argument("--config", help=f"a YAML config file, e.g. configs/{task}-*.yaml")
        p.add_argument("--preset", help="a shipped preset by name (`newsdesk presets` lists "
                       f"them), e.g. {task}-{'fnc1' if task == 'stance' else 'bbc'}")
        p.add_argument("--resume", action="store_true",
                       help="continue from the last checkpoint in OUTPUT_DIR/checkpoints")
        add_config_arguments(p, cls, skip=("task",))
        p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a model folder on a prepared split or a table")
    p.add_argument("model_dir")
    p.add_argument("data", help="a prepared folder or a CSV/JSONL/Parquet file")
    p.add_argument("--split", default="dev", help="split of a prepared folder (default dev)")
    p.add_argument("--out", help="where to write metrics (default MODEL_DIR/eval-<name>)")
    p.add_argument("--fit-temperature", action="store_true", help="classifiers: fit the "
                   "confidence temperature (multi-label: the per-label thresholds) on this data "
                   "and write it into MODEL_DIR (training does this on dev)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("analyze", help="analyse a JSONL/CSV/Parquet file of articles, or web "
                       "pages (resumable)")
    p.add_argument("input", help="JSONL, CSV or Parquet with a 'text' or 'html' column (id, title, "
                   "url optional), or an .html/.htm page or a folder of them")
    p.add_argument("--out", required=True, help="output .jsonl or .parquet")
    p.add_argument("--topic", help="topic model folder")
    p.add_argument("--stance", help="stance model folder")
    p.add_argument("--summary", help="summary model folder")
    p.add_argument("--models-dir", "--models", dest="models", help="a folder holding topic/, "
                   "stance/ and summary/ model folders (--models is the former name)")
    p.add_argument("--targets", nargs="+", help="claims or headlines for the stance model")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1 ...")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto (the fastest mode that agrees with fp32 here), fp32, bf16, fp16 "
                   "(GPU) or int8 (CPU)")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="auto (under --precision auto, torch and, where installed, OpenVINO are "
                   "timed and the fastest that agrees is kept; else torch), torch or openvino "
                   "(CPU; pip install 'newsdesk[openvino]')")
    p.add_argument("--max-tokens", type=int, help="padded tokens per batch (default: calibrated "
                   "under --precision auto, else 4096 on CPU and 16384 on CUDA)")
    p.add_argument("--cascade", type=float, help="topic: read an article's next chunk only while "
                   "its top probability is below this; 1.0 reads every chunk (default: the "
                   "folder's setting)")
    p.add_argument("--glance", type=int, help="topic: tokens of an article's opening read first, "
                   "where a sure article stops; 0 starts with the first chunk (default: the "
                   "folder's setting: 64 with a TF-IDF partner, else 0)")
    p.add_argument("--abstain-below", type=float, help="topic and stance: no label (null, with the "
                   "top candidates) when the calibrated top score is below this (default: the "
                   "folder's setting, 0 = never)")
    p.add_argument("--keep-furniture", action="store_true", help="do not remove page furniture "
                   "(share prompts, credits, bylines, related-story lists) from text")
    p.add_argument("--window", type=int, default=256, help="records analysed together")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier partial output")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process, resumable; ray: Ray Data (pip install "
                   "'newsdesk[ray]'), INPUT and --out are files or folders, RAY_ADDRESS picks "
                   "the cluster")
    p.add_argument("--actors", type=int, default=1, help="ray: analyzer actors")
    p.add_argument("--cpus-per-actor", type=float, default=1, help="ray: CPUs per actor")
    p.add_argument("--gpus-per-actor", type=float, default=0, help="ray: GPUs per actor")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("calibrate", help="time each precision and token budget of a model folder "
                       "on this machine, keep the fastest that agrees with fp32, show the table")
    p.add_argument("model_dir")
    p.add_argument("--data", help="articles to calibrate on: a prepared folder (its dev split) or a "
                   "CSV/JSONL/Parquet file; without it, the cached table is shown")
    p.add_argument("--articles", type=int, default=CALIBRATION_SAMPLE,
                   help=f"articles to time (default {CALIBRATION_SAMPLE}, as a job's own "
                   "calibration)")
    p.add_argument("--target", help="stance: the claim or headline to pair the articles with "
                   "(default: the data's first target)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="the backends to time: auto (torch and, where installed, OpenVINO), "
                   "torch or openvino")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("refit", help="redo a classifier folder's after-training fit (blend, "
                       "word model, offsets, temperature) with this version, in a copy")
    p.add_argument("model_dir", help="a topic or stance folder trained with a validation slice "
                   "and lexical: tfidf")
    p.add_argument("--out", required=True, help="where the refitted copy goes (a new folder)")
    p.add_argument("--data", help="its prepared data folder (default: the one it was trained on)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default cpu)")
    p.set_defaults(func=cmd_refit)

    p = sub.add_parser("presets", help="list the shipped training presets")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("push", help="upload a model folder and its card to the Hugging Face Hub")
    p.add_argument("model_dir")
    p.add_argument("repo_id", help="owner/name; created if it does not exist")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("quickstart", help="prepare, train quick models, evaluate and analyse")
    p.add_argument("--data", help="folder with bbc-news-summary/ and fnc-1/ "
                   "(default $NEWSDESK_DATA or ../shared/data)")
    p.add_argument("--out", default="runs/quickstart", help="where data and models go")
    p.add_argument("--model", default="minilm", help="base encoder (default: packaged MiniLM)")
    p.add_argument("--claim", default="The government will raise taxes",
                   help="claim whose stance is shown for the sample articles")
    p.add_argument("--show", type=int, default=3, help="dev articles to analyse and print")
    p.set_defaults(func=cmd_quickstart)


