"""Capabilities read off the machine, and the calibration that picks precision and token budget."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from newsdesk.errors import NewsdeskError
from newsdesk.inference import ClassifierPredictor, InferenceOptions, NewsAnalyzer, load_predictor
from newsdesk.inference.backend import TorchBackend
from newsdesk.inference.calibrate import (
    BUDGETS,
    Decision,
    cache_file,
    calibrate,
    folder_fingerprint,
)
from newsdesk.inference.hardware import Capabilities, candidate_precisions, detect
from newsdesk.models.folder import GLANCE, ClassifierSettings

ZEN3 = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n"
ZEN4 = ("model name\t: AMD EPYC 9B14\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16 "
        "avx512vl\n")
AMX = ("model name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: avx2 avx512f avx512_vnni "
       "avx512_bf16 amx_tile amx_bf16 amx_int8\n")
TEXTS = ["Profit rose at the bank and shares of the firm fell in the market.",
         "The team won the match and the coach praised the players.",
         "The phone maker sold more chips online this year."] * 3


@pytest.mark.parametrize("cpuinfo, kind, bf16, candidates", [
    (ZEN3, "avx2", False, ["fp32", "int8"]),
    (ZEN4, "avx512-bf16", True, ["fp32", "bf16", "int8"]),
    (AMX, "amx", True, ["fp32", "bf16", "int8"]),
])
def test_capabilities_from_cpuinfo(cpuinfo, kind, bf16, candidates):
    caps = detect(cpuinfo)
    assert caps.kind == kind and caps.native_bf16 is bf16
    assert candidate_precisions(caps, "cpu") == candidates
    assert caps.cpu_model.split()[0] in ("AMD", "Intel(R)")
    assert caps.key() != detect(ZEN3 if cpuinfo != ZEN3 else AMX).key()


def test_gpu_candidates():
    caps = Capabilities("x", cuda="NVIDIA H200 (9.0)", cuda_bf16=True)
    assert candidate_precisions(caps, "cuda") == ["fp32", "bf16"]
    assert candidate_precisions(Capabilities("x", cuda="T4 (7.5)"), "cuda:0") == ["fp32", "fp16"]


class Clock:
    """A timer whose runs cost what `cost` says for the predictor's current mode."""

    def __init__(self, predictor, cost):
        self.predictor, self.cost, self.now = predictor, cost, 0.0

    def __call__(self) -> float:
        p = self.predictor
        self.now += self.cost.get((p.precision, p.max_tokens), self.cost[p.precision])
        return self.now


def tiny_run(predictor, disagree: str | None = None):
    items = [{"text": t, "title": None} for t in TEXTS]
    encoded = predictor.encode(items)

    def run(n=None):
        out = predictor._predict(items[:n], encoded[:n], None)
        if predictor.precision == disagree:  # a mode that changes labels
            out = [{**o, "label": "flipped"} for o in out]
        return out

    return run


@pytest.mark.parametrize("cpuinfo, disagree, chosen", [
    (AMX, None, "int8"),       # all agree: the fastest
    (AMX, "int8", "bf16"),     # the fastest changes labels: the next fastest that agrees
    (ZEN3, "int8", "fp32"),    # no native bf16, int8 disagrees: fp32
    (ZEN3, None, "int8"),
])
def test_calibration_keeps_the_fastest_agreeing_mode(tiny_models, cpuinfo, disagree, chosen):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    assert predictor.pending and predictor.precision == "fp32"
    cost = {"fp32": 3.0, "bf16": 2.0, "int8": 1.0}
    decision = calibrate(predictor, tiny_run(predictor, disagree), len(TEXTS), detect(cpuinfo),
                         timer=Clock(predictor, cost))
    assert decision.precision == chosen == predictor.precision
    timed = [r["precision"] for r in decision.rows]
    assert timed[: len(candidate_precisions(detect(cpuinfo), "cpu"))] == \
        candidate_precisions(detect(cpuinfo), "cpu")
    assert all(r["agrees"] == (r["precision"] != disagree) for r in decision.rows)
    assert "kept" in decision.table() and "<-" in decision.table()


def test_the_table_marks_only_the_kept_tolerance():
    row = {"backend": "openvino", "precision": "int8", "max_tokens": 4096, "seconds": 1.0,
           "rechecked": 0.0, "agreement": 1.0}
    rows = [{**row, "tolerance": 0.04, "agreement": 0.99, "agrees": False},  # changed a label
            {**row, "tolerance": 0.28, "agrees": True}]
    table = Decision("int8", 4096, rows, "x", 8, 0.28, "openvino").table().splitlines()
    assert table[-2].endswith("differs") and table[-1].endswith("<-")


def test_calibration_times_the_token_budget(tiny_models):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    cost = {"fp32": 3.0, "bf16": 2.0, "int8": 1.0, ("int8", 8192): 0.5, ("int8", 2048): 0.8}
    decision = calibrate(predictor, tiny_run(predictor), len(TEXTS), detect(AMX),
                         timer=Clock(predictor, cost))
    assert (decision.precision, decision.max_tokens) == ("int8", 8192) == \
        (predictor.precision, predictor.max_tokens)
    assert {r["max_tokens"] for r in decision.rows} == set(BUDGETS["cpu"])
    fixed = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu", max_tokens=999)
    decision = calibrate(fixed, tiny_run(fixed), len(TEXTS), detect(AMX),
                         timer=Clock(fixed, cost))
    assert decision.max_tokens == 999  # a budget the user set is kept


def test_decision_is_cached_and_invalidated_by_a_changed_folder(tmp_path, tiny_models):
    import shutil

    folder = tmp_path / "topic"
    shutil.copytree(tiny_models["topic"], folder)
    first = ClassifierPredictor.from_pretrained(folder, device="cpu")
    first.predict(TEXTS)  # the first real inputs calibrate
    assert not first.pending and first.decision is not None and cache_file().is_file()
    again = ClassifierPredictor.from_pretrained(folder, device="cpu")
    assert not again.pending and again.decision == first.decision
    assert again.precision == first.decision.precision
    # new weights: a new fingerprint, so the next load calibrates again
    before = folder_fingerprint(folder)
    weights = load_file(folder / "model.safetensors")
    weights = {k: v + 0.01 if v.is_floating_point() else v for k, v in weights.items()}
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    assert folder_fingerprint(folder) != before
    assert ClassifierPredictor.from_pretrained(folder, device="cpu").pending
    # an explicit precision never calibrates
    assert not ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32").pending


def confident_folder(tmp_path, source):
    """A copy of a tiny classifier whose head is scaled up, so labels have clear margins."""
    import shutil

    folder = tmp_path / "confident"
    shutil.copytree(source, folder)
    weights = load_file(folder / "model.safetensors")
    weights = {k: v * 200 if k.startswith("classifier.") else v for k, v in weights.items()}
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_each_cpu_precision_agrees_with_fp32(tmp_path, tiny_models, precision):
    folder = confident_folder(tmp_path, tiny_models["topic"])
    reference = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32")
    other = ClassifierPredictor.from_pretrained(folder, device="cpu", precision=precision)
    assert [p["label"] for p in other.predict(TEXTS)] == \
        [p["label"] for p in reference.predict(TEXTS)]
    assert other.engine == f"torch:{precision}"


def test_outputs_name_their_engine(tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu")
    out = analyzer.analyze(TEXTS[:2], targets="Profit rose")
    assert set(out[0]["engine"]) == {"topic", "stance", "summary"}
    for name, predictor in analyzer.models.items():
        check = "+check" if predictor.tolerance else ""
        assert out[0]["engine"][name] == predictor.engine == \
            f"{predictor.backend.name}:{predictor.precision}{check}"
    summary = load_predictor(tiny_models["summary"], InferenceOptions(device="cpu"))
    assert summary.decision is not None  # the analyzer's calibration was cached


def test_this_machine_is_read():
    caps = detect()
    assert caps.threads == torch.get_num_threads() and caps.cpu_model


LONG = [" ".join(TEXTS) * 4, TEXTS[0], " ".join(TEXTS[1:]) * 3, " ".join(TEXTS[::-1]) * 5]


def cascade_predictor(folder, cascade):
    return ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32",
                                               cascade=cascade)


def test_cascade_at_one_reads_the_whole_article(tiny_models):
    whole = cascade_predictor(tiny_models["topic"], 1.0)
    items = [{"text": t} for t in LONG]
    encoded = whole.encode(items)
    feats, owners = whole.topic_features(encoded)
    assert len(feats) > len(LONG)  # long articles have several chunks
    expected = whole.run(feats, owners, len(LONG))
    assert torch.equal(whole.topic_probs(encoded, LONG)["blend"], expected)


def test_cascade_reads_on_only_while_unsure(tiny_models):
    first_only = cascade_predictor(tiny_models["topic"], 0.0)
    items = [{"text": t} for t in LONG]
    encoded = first_only.encode(items)
    feats, owners = first_only.topic_features(encoded)
    first = [owners.index(a) for a in range(len(LONG))]
    first_probs = first_only.run([feats[j] for j in first], list(range(len(LONG))), len(LONG))
    assert torch.allclose(first_only.topic_probs(encoded, LONG)["blend"], first_probs, atol=1e-6)
    # a threshold between the first chunks' confidences: exactly the unsure multi-chunk
    # articles read on
    confidence = first_probs.max(-1).values
    several = [owners.count(a) > 1 for a in range(len(LONG))]
    threshold = sorted(c for c, m in zip(confidence.tolist(), several) if m)[1]
    unsure = [c < threshold and m for c, m in zip(confidence.tolist(), several)]
    middle = cascade_predictor(tiny_models["topic"], threshold)
    probs = middle.topic_probs(encoded, LONG)["blend"]
    assert middle.stats["more_than_one_chunk"] == sum(unsure) > 0
    for a in range(len(LONG)):
        if not unsure[a]:
            assert torch.allclose(probs[a], first_probs[a], atol=1e-6)


def test_cascade_at_one_reads_the_whole_article_with_a_glance_too(tiny_models):
    whole = cascade_predictor(tiny_models["topic"], 1.0)
    glancing = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                   precision="fp32", cascade=1.0, glance=16)
    encoded = whole.encode([{"text": t} for t in LONG])
    assert torch.equal(glancing.topic_probs(encoded, LONG)["blend"],
                       whole.topic_probs(encoded, LONG)["blend"])
    assert "stopped_at_glance" not in glancing.stats


def test_a_glance_stops_the_sure_articles_and_is_set_aside_for_the_rest(tmp_path, tiny_models):
    folder = confident_folder(tmp_path, tiny_models["topic"])

    def predictor(threshold, glance):
        return ClassifierPredictor.from_pretrained(folder, device="cpu",
                                                   precision="fp32", cascade=threshold,
                                                   glance=glance)

    texts = [*LONG, "Shares fell."]
    probe = predictor(0.5, 16)
    encoded = probe.encode([{"text": t} for t in texts])
    feats, owners = probe.topic_features(encoded)
    glances = probe.glances(encoded, feats, owners)
    assert sorted(glances) == [0, 1, 2, 3]  # the last fits in 16 tokens: read as one chunk
    assert all(len(g["input_ids"]) == 16 for g in glances.values())
    looked = sorted(glances)
    glance_probs = probe.run([glances[a] for a in looked], list(range(4)), 4)
    confidence = glance_probs.max(-1).values.tolist()
    low = sorted(set(confidence))
    threshold = (low[0] + low[1]) / 2  # some articles unsure at their glance, the others sure
    sure = {a for a, c in zip(looked, confidence) if c >= threshold}
    assert 0 < len(sure) < len(looked)
    without = predictor(threshold, 0).topic_probs(encoded, texts)["blend"]
    glancing = predictor(threshold, 16)
    probs = glancing.topic_probs(encoded, texts)["blend"]
    assert glancing.stats["stopped_at_glance"] == len(sure)
    for a in range(len(texts)):
        if a in sure:
            assert torch.allclose(probs[a], glance_probs[looked.index(a)], atol=1e-6)
        else:  # read as if there had been no glance
            assert torch.allclose(probs[a], without[a], atol=1e-6)


def test_the_glance_comes_from_options_then_folder_then_the_partner(tiny_models):
    plain = cascade_predictor(tiny_models["topic"], 0.9)
    assert plain.glance == 0  # no TF-IDF partner: the transformer alone does not glance
    plain.lexical = object()  # a partner reading the whole article beside the glance
    assert plain.glance == GLANCE
    plain.settings = dataclasses.replace(plain.settings, glance=32)
    assert plain.glance == 32
    plain.options = InferenceOptions.of(plain.options, glance=0)
    assert plain.glance == 0


@pytest.mark.parametrize("glance", [8, -1, True, 20.0])
def test_a_glance_too_short_to_read_is_refused(glance):
    with pytest.raises(NewsdeskError, match="glance must be 0"):
        InferenceOptions(glance=glance)
    with pytest.raises(NewsdeskError, match="glance must be 0"):
        ClassifierSettings(task="topic", labels=["a"], max_length=64, glance=glance)


def test_calibrate_command(tmp_path, tiny_models, capsys):
    from newsdesk.cli import main

    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(f'{{"text": "{t} Story {i}."}}' for i, t in enumerate(TEXTS)) + "\n")
    assert main(["calibrate", str(tiny_models["topic"])]) == 2
    assert "not calibrated on this machine yet" in capsys.readouterr().err
    assert main(["calibrate", str(tiny_models["topic"]), "--data", str(path), "--articles", "4",
                 "--device", "cpu"]) == 0
    shown = capsys.readouterr().out
    assert "calibrated on 4 articles" in shown and "<-" in shown and "fp32" in shown
    assert main(["calibrate", str(tiny_models["topic"]), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip() == shown.split("\ncached in")[0].strip()


@pytest.mark.parametrize("cpuinfo, flags", [
    (ZEN3, {}),
    (ZEN4, {"bf16": True, "fp16": False, "use_cpu": True}),
    (AMX, {"bf16": True, "fp16": False, "use_cpu": True}),
])
def test_training_auto_picks_bf16_where_the_cpu_has_it(monkeypatch, cpuinfo, flags):
    import newsdesk.training.precision as training_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training_precision, "detect", lambda: detect(cpuinfo))
    assert training_precision.precision_flags("auto") == flags
    assert training_precision.precision_flags("fp32") == {"bf16": False, "fp16": False}
    assert training_precision.accelerate_precision("auto") == ("bf16" if flags else "no")


def test_a_mode_that_fails_here_is_passed_over_not_the_job(tiny_models, monkeypatch):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                    backend="torch")
    real = TorchBackend.__call__

    def call(self, inputs):
        if self.precision == "bf16":  # the flags promise bf16, the runtime has no kernel
            raise RuntimeError("Supported primitive descriptors list is empty for node: Softmax")
        return real(self, inputs)

    monkeypatch.setattr(TorchBackend, "__call__", call)
    cost = {"fp32": 3.0, "bf16": 1.0, "int8": 2.0}
    with pytest.warns(UserWarning, match="torch bf16 failed on this machine and is passed over"):
        decision = calibrate(predictor, tiny_run(predictor), len(TEXTS), detect(AMX),
                             timer=Clock(predictor, cost))
    assert decision.precision == "int8" == predictor.precision  # the fastest that ran
    failed = [r for r in decision.rows if r.get("failed")]
    assert [(r["precision"], r["agrees"]) for r in failed] == [("bf16", False)]
    assert "failed: RuntimeError: Supported primitive descriptors" in decision.table()
    assert json.loads(json.dumps(decision.rows)) == decision.rows  # the cache can hold it


def test_the_reference_failing_stops_calibration(tiny_models, monkeypatch):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")

    def call(self, inputs):
        raise RuntimeError("no kernels at all")

    monkeypatch.setattr(TorchBackend, "__call__", call)
    with pytest.raises(RuntimeError, match="no kernels at all"):
        calibrate(predictor, tiny_run(predictor), len(TEXTS), detect(AMX),
                  timer=Clock(predictor, {"fp32": 1.0, "bf16": 1.0, "int8": 1.0}))
