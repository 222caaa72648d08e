"""Fault campaign for the batch job (issue: batch jobs): hostile inputs and faults on real BBC
articles, run through the `newsdesk analyze` command as a user would.

Each case prints: records in, records out, error records, and the verdict "nothing lost,
nothing mixed" when every input record is either in the output (once, with its own id and a
result from the right models) or in the errors file with a reason, the input is unchanged, and a
refused run wrote nothing; otherwise the verdict says what went wrong.

    python benchmarks/fault_campaign.py --model runs/quickstart/models/topic --data data/bbc
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsdesk", "analyze", *args, "--device", "cpu"],
                          capture_output=True, text=True)


def lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def check(name: str, rows_in: list[dict], out: Path, rc: int, expect_rc: int = 0,
          untouched: dict[Path, bytes] | None = None, one_line: bool = False,
          stderr: str = "") -> dict:
    written = lines(out)
    errors = lines(out.with_name(out.name + ".errors.jsonl"))
    problems = []
    if rc != expect_rc:
        problems.append(f"rc {rc}, wanted {expect_rc}")
    for path, data in (untouched or {}).items():
        if path.read_bytes() != data:
            problems.append(f"{path.name} changed")
    if expect_rc == 0:
        ids = [w["id"] for w in written]
        if len(ids) != len(set(ids)):
            problems.append("duplicated ids")
        if len(written) + len(errors) != len(rows_in):
            problems.append(f"{len(rows_in)} in, {len(written)} out + {len(errors)} errors")
        if any("topic" not in w for w in written):
            problems.append("records without a topic")
    elif written:
        problems.append("a refused run wrote output")
    if one_line and len(stderr.strip().splitlines()) != 1:
        problems.append("error not on one line")
    verdict = "nothing lost, nothing mixed" if not problems else "; ".join(problems)
    row = {"case": name, "in": len(rows_in), "out": len(written), "errors": len(errors),
           "verdict": verdict}
    print(f"| {name} | {row['in']} | {row['out']} | {row['errors']} | {verdict} |", flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a topic model folder")
    p.add_argument("--other-model", help="another topic model folder (default: a copy of --model "
                   "with one weight changed)")
    p.add_argument("--data", default="data/bbc", help="prepared BBC folder")
    p.add_argument("--articles", type=int, default=60)
    args = p.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"command: python {' '.join(sys.argv)}")
    rows = [json.loads(x) for x in (Path(args.data) / "dev.jsonl").read_text().splitlines()]
    rows = [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in rows[: args.articles]]
    tmp = Path(tempfile.mkdtemp(prefix="newsdesk-faults-"))
    os.environ["NEWSDESK_CACHE"] = str(tmp / "cache")
    model = ["--topic", args.model, "--precision", "fp32", "--window", "8"]
    other = args.other_model
    if other is None:
        other = str(tmp / "other-model")
        shutil.copytree(args.model, other)
        weights = Path(other) / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-8:] = bytes(8)  # a different model: its fingerprint differs
        weights.write_bytes(bytes(data))
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = []
    print("| case | records in | out | errors | verdict |")
    print("|---|---|---|---|---|")

    def case_input_is_output(suffix):
        path = tmp / f"same{suffix}"
        if suffix == ".parquet":
            pq.write_table(pa.Table.from_pylist(rows), path)
        else:
            shutil.copy(src, path)
        before = path.read_bytes()
        r = analyze(str(path), "--out", str(path), "--overwrite", *model)
        ok = r.returncode == 2 and path.read_bytes() == before
        verdict = "nothing lost, nothing mixed" if ok else f"rc {r.returncode}; input changed"
        print(f"| output = input ({suffix}, --overwrite) | {len(rows)} | 0 | 0 | {verdict} |")
        return {"case": f"output = input {suffix}", "verdict": verdict}

    results.append(case_input_is_output(".jsonl"))
    results.append(case_input_is_output(".parquet"))

    # resume after a kill, with another model, another precision, a rewritten input
    out = tmp / "resume.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "newsdesk", "analyze", str(src), "--out",
                             str(out), *model, "--device", "cpu"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    progress = out.with_name(out.name + ".progress.json")
    deadline = time.time() + 300
    while time.time() < deadline and not (progress.exists() and
                                          json.loads(progress.read_text())["records"] >= 16):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    partial = out.read_bytes()
    r = analyze(str(src), "--out", str(out), "--topic", other, "--precision", "fp32", "--window", "8")
    ok = r.returncode == 2 and out.read_bytes() == partial and "changed: models.topic" in r.stderr
    print(f"| resume with another model | {len(rows)} | - | - | "
          f"{'nothing lost, nothing mixed' if ok else 'mixed: ' + r.stderr.strip()[-80:]} |")
    r = analyze(str(src), "--out", str(out), "--topic", args.model, "--precision", "int8",
                "--window", "8")
    ok2 = r.returncode == 2 and out.read_bytes() == partial
    print(f"| resume with another precision | {len(rows)} | - | - | "
          f"{'nothing lost, nothing mixed' if ok2 else 'mixed'} |")
    shuffled = tmp / "in-copy.jsonl"
    shutil.copy(src, shuffled)
    src_bytes = src.read_bytes()
    src.write_text("".join(json.dumps(r) + "\n" for r in rows[::-1]))
    r = analyze(str(src), "--out", str(out), *model)
    ok3 = r.returncode == 2 and out.read_bytes() == partial and "changed: input" in r.stderr
    print(f"| resume after the input was rewritten | {len(rows)} | - | - | "
          f"{'nothing lost, nothing mixed' if ok3 else 'mixed'} |")
    src.write_bytes(src_bytes)
    os.utime(src, ns=(shuffled.stat().st_atime_ns, shuffled.stat().st_mtime_ns))
    results += [{"verdict": "nothing lost, nothing mixed" if x else "mixed"} for x in (ok, ok2, ok3)]

    # a kill in the first window, then the rerun completes exactly
    first = tmp / "first.jsonl"
    lock_free = analyze(str(src), "--out", str(tmp / "full.jsonl"), *model)
    proc = subprocess.Popen([sys.executable, "-m", "newsdesk", "analyze", str(src), "--out",
                             str(first), *model, "--window", "1000", "--device", "cpu"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not first.with_name(first.name + ".progress.json").exists():
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    r = analyze(str(src), "--out", str(first), *model)
    same = first.read_bytes() == (tmp / "full.jsonl").read_bytes() and lock_free.returncode == 0
    results.append(check("kill in the first window, rerun", rows, first, r.returncode))
    if not same:
        print("|   (rerun output differs from an uninterrupted run) | | | | mixed |")

    # a second job on the same output while the first holds it
    busy = tmp / "busy.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; "
        "from newsdesk.inference.jobfiles import OutputLock; "
        "OutputLock(Path(sys.argv[1])).__enter__(); print('held', flush=True); time.sleep(300)"),
        str(busy)], stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    r = analyze(str(src), "--out", str(busy), *model)
    holder.kill()
    holder.wait()
    results.append(check("second job on a held output", rows, busy, r.returncode, expect_rc=2,
                         one_line=True, stderr=r.stderr))

    # CSV with a byte-order mark, text first and id first
    for first_col in ("text", "id"):
        cols = [first_col] + [c for c in ("id", "title", "text") if c != first_col]
        path = tmp / f"bom-{first_col}.csv"
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(cols)
        for row in rows:
            writer.writerow([row[c] for c in cols])
        path.write_bytes("\ufeff".encode() + buf.getvalue().encode())
        o = tmp / f"bom-{first_col}.jsonl"
        r = analyze(str(path), "--out", str(o), *model)
        res = check(f"CSV with BOM, {first_col} first", rows, o, r.returncode)
        if [w["id"] for w in lines(o)] != [row["id"] for row in rows]:
            res["verdict"] = "ids changed"
            print("|   (ids changed) | | | | ids changed |")
        results.append(res)

    # missing, numeric and dict ids; content-free text; an unpunctuated article
    odd = [dict(rows[0], id=None), dict(rows[1], id=7), dict(rows[2], id={"x": 1}),
           {"id": "zw", "text": "\u200b\u200c\ufeff"}, {"id": "ctl", "text": "\x00\x07 \n"},
           dict(rows[3])]
    odd[0].pop("id")
    path = tmp / "odd-input.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in odd))
    for suffix in (".jsonl", ".parquet"):
        o = tmp / f"odd-output{suffix}"
        r = analyze(str(path), "--out", str(o), *model)
        res = check(f"odd ids and empty text -> {suffix}", odd, o, r.returncode)
        ids = [w["id"] for w in lines(o)]
        if ids != ["line:1", "7", rows[3]["id"]]:
            res["verdict"] = f"ids {ids}"
            print(f"|   (ids {ids}) | | | | wrong ids |")
        results.append(res)

    # a CSV without a text column: one clear error, nothing written
    path = tmp / "notext.csv"
    path.write_text("id,body\n" + "".join(f"{r['id']},x\n" for r in rows))
    o = tmp / "notext.jsonl"
    r = analyze(str(path), "--out", str(o), *model)
    results.append(check("CSV without a text column", rows, o, r.returncode, expect_rc=2,
                         one_line=True, stderr=r.stderr))
    for flags, name in ((["--device", "cuda"], "--device cuda without a GPU"),
                        (["--precision", "fp16"], "--precision fp16 on CPU")):
        o = tmp / "flags.jsonl"
        r = subprocess.run([sys.executable, "-m", "newsdesk", "analyze", str(src), "--out", str(o),
                            "--topic", args.model, *flags], capture_output=True, text=True)
        results.append(check(name, rows, o, r.returncode, expect_rc=2, one_line=True,
                             stderr=r.stderr))
    bad = [x for x in results if x["verdict"] != "nothing lost, nothing mixed"]
    print(f"\n{len(results) - len(bad)} of {len(results)} cases: nothing lost, nothing mixed")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
