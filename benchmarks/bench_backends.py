"""Backends for one forward pass (issue: inference engine): which runtime and precision is fastest
on this machine for a topic model, at equal inputs.

Times the encoder-classifier's forward pass on real BBC chunks, batches of 16 x 256 tokens (the
CPU token budget), in: torch fp32, torch bf16 autocast, torch bf16 weights (what newsdesk runs
for bf16 on CPU), torch int8 dynamic quantisation, `torch.compile` of the bf16 weights (its
compile time printed; not a newsdesk mode), and, when `onnxruntime`, `onnx` and
`onnxscript` are installed (they are not dependencies of newsdesk), ONNX Runtime fp32 and int8
(per-channel dynamic quantisation) from a `torch.onnx.export` of the same model, and, with the
`newsdesk[openvino]` extra, newsdesk's OpenVINO backend in fp32, bf16 and int8 (its ranges
read from the chunks of the next articles, as a predictor's first inputs would give them).
Prints tokens/s (best of 5) and how many argmax labels agree with torch fp32.

    python benchmarks/bench_backends.py --model runs/topic-bbc --data data/bbc
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import torch
from header import best_of, print_header

from newsdesk.inference import ClassifierPredictor
from newsdesk.inference.backend import quantize
from newsdesk.inference.batching import collate
from newsdesk.inference.openvino_backend import OpenVINOBackend
from newsdesk.inference.openvino_backend import available as openvino_available


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a topic model folder")
    p.add_argument("--data", default="data/bbc", help="prepared BBC folder (dev split)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print_header()
    predictor = ClassifierPredictor.from_pretrained(args.model, device="cpu", precision="fp32")
    rows = [json.loads(x) for x in (Path(args.data) / "dev.jsonl").read_text().splitlines()]
    items = [{"text": r["text"], "title": r["title"]} for r in rows[: 4 * args.batch]]
    feats, _ = predictor.topic_features(predictor.encode(items))
    feats = sorted(feats, key=lambda f: -len(f["input_ids"]))[: args.batch]
    pad = predictor.tokenizer.pad_token_id or 0
    batch = collate(feats, pad)
    others, _ = predictor.topic_features(predictor.encode(
        [{"text": r["text"], "title": r["title"]} for r in rows[4 * args.batch: 8 * args.batch]]))
    samples = [collate(others[i:i + args.batch], pad) for i in range(0, len(others), args.batch)]
    tokens = int(batch["attention_mask"].sum())
    print(f"batch: {tuple(batch['input_ids'].shape)}, {tokens} real tokens")
    model = predictor.base_model
    results = {}
    with torch.inference_mode():
        reference = model(**batch).logits.argmax(-1)

        def torch_case(name, m, dtype=None):
            def run():
                if dtype is None:
                    return m(**batch).logits
                with torch.autocast("cpu", dtype=dtype):
                    return m(**batch).logits
            seconds = best_of(run)
            results[name] = (tokens / seconds, float((run().argmax(-1) == reference).float().mean()))

        torch_case("torch fp32", model)
        torch_case("torch bf16 autocast", model, torch.bfloat16)
        torch_case("torch bf16 weights (newsdesk bf16)", copy.deepcopy(model).to(torch.bfloat16))
        torch_case("torch int8 dynamic (newsdesk int8)", quantize(model))
        try:  # inductor fuses GELU, layer norm and the adds around the matmuls; needs a C compiler
            compiled = torch.compile(copy.deepcopy(model).to(torch.bfloat16))
            start = time.perf_counter()
            compiled(**batch)
            print(f"torch.compile (bf16 weights, this batch shape): {time.perf_counter() - start:.1f} s")
            torch_case("torch.compile bf16 weights", compiled)
        except Exception as e:  # noqa: BLE001 - a row this machine cannot give is reported, not fatal
            print(f"torch.compile failed here: {type(e).__name__}: {str(e)[:200]}")
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        print("onnxruntime not installed: pip install onnxruntime onnx onnxscript for its rows")
        ort = None
    if ort is not None:
        with tempfile.TemporaryDirectory() as tmp:
            fp32_path, int8_path = Path(tmp, "model.onnx"), Path(tmp, "model.int8.onnx")
            dims = {k: {0: torch.export.Dim("batch"), 1: torch.export.Dim("tokens")} for k in batch}
            start = time.perf_counter()
            torch.onnx.export(model, (), str(fp32_path), kwargs=dict(batch),
                              input_names=list(batch), output_names=["logits"],
                              dynamic_shapes=dims, dynamo=True)
            print(f"ONNX export: {time.perf_counter() - start:.1f} s")
            quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8,
                             per_channel=True)
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            for name, path in (("onnxruntime fp32", fp32_path), ("onnxruntime int8", int8_path)):
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                wanted = {i.name for i in session.get_inputs()}
                feed = {k: v.numpy() for k, v in batch.items() if k in wanted}
                seconds = best_of(lambda s=session, f=feed: s.run(None, f))
                labels = torch.from_numpy(session.run(None, feed)[0]).argmax(-1)
                results[name] = (tokens / seconds, float((labels == reference).float().mean()))
    if not openvino_available():
        print("openvino not installed: pip install 'newsdesk[openvino]' for its rows")
    else:
        for precision in ("fp32", "bf16", "int8"):  # newsdesk's backend, as calibration runs it
            backend = OpenVINOBackend(model, torch.device("cpu"), precision, samples=samples)
            start = time.perf_counter()
            with torch.inference_mode():
                backend(batch)  # converts (quantises) and compiles
            print(f"OpenVINO {precision}: conversion, quantisation and compilation "
                  f"{time.perf_counter() - start:.1f} s")
            seconds = best_of(lambda b=backend: b(batch))
            labels = backend(batch).argmax(-1)
            results[f"openvino {precision} (newsdesk backend)"] = (
                tokens / seconds, float((labels == reference).float().mean()))
    fastest = max(r[0] for r in results.values())
    print("| runtime and precision | tokens/s | x torch fp32 | labels = torch fp32 |")
    print("|---|---|---|---|")
    for name, (rate, agree) in results.items():
        mark = " (fastest)" if rate == fastest else ""
        print(f"| {name}{mark} | {rate:.0f} | {rate / results['torch fp32'][0]:.2f} | {agree:.3f} |")


if __name__ == "__main__":
    main()
