"""The OpenVINO backend (the `newsdesk[openvino]` extra): agreement with torch fp32, the cached
conversion, and calibration choosing between backends."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from newsdesk.errors import NewsdeskError
from newsdesk.inference import ClassifierPredictor, InferenceOptions, SummaryPredictor, openvino_backend
from newsdesk.inference.calibrate import calibrate, folder_fingerprint
from newsdesk.inference.hardware import Capabilities, candidate_modes, detect
from test_calibrate import AMX, TEXTS, ZEN3, confident_folder, tiny_run

ov = pytest.importorskip("openvino", reason="the openvino extra is not installed "
                         "(pip install 'newsdesk[openvino]')")


def test_candidate_modes_by_machine_and_backends():
    assert candidate_modes(detect(AMX), "cpu", ("torch", "openvino"), openvino_int8=False) == [
        ("torch", "fp32"), ("torch", "bf16"), ("torch", "int8"),
        ("openvino", "fp32"), ("openvino", "bf16")]
    assert candidate_modes(detect(ZEN3), "cpu", ("torch", "openvino"), openvino_int8=False) == [
        ("torch", "fp32"), ("torch", "int8"), ("openvino", "fp32")]  # no emulated bf16
    # the torch fp32 reference is timed whatever the backends allowed
    assert candidate_modes(detect(AMX), "cpu", ("openvino",), openvino_int8=False) == [
        ("torch", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")]
    # with the quantiser, OpenVINO's int8 on every CPU kind (it runs on AVX2 too)
    assert candidate_modes(detect(ZEN3), "cpu", ("openvino",), openvino_int8=True) == [
        ("torch", "fp32"), ("openvino", "fp32"), ("openvino", "int8")]
    gpu = Capabilities("x", cuda="NVIDIA H200 (9.0)", cuda_bf16=True)
    assert candidate_modes(gpu, "cuda", ("torch", "openvino"), openvino_int8=True) == [
        ("torch", "fp32"), ("torch", "bf16")]  # openvino: CPU only


def test_classifier_on_openvino_agrees_with_torch_fp32(tmp_path, tiny_models):
    folder = confident_folder(tmp_path, tiny_models["topic"])
    reference = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32")
    other = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32",
                                                backend="openvino")
    want, got = reference.predict(TEXTS), other.predict(TEXTS)
    assert [p["label"] for p in got] == [p["label"] for p in want]
    for a, b in zip(got, want):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    assert other.engine == "openvino:fp32"
    if detect().native_bf16:
        fast = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="bf16",
                                                   backend="openvino")
        assert [p["label"] for p in fast.predict(TEXTS)] == [p["label"] for p in want]
        assert fast.engine == "openvino:bf16"


def test_summariser_on_openvino_gives_torch_fp32_summaries(tiny_models):
    reference = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                                 precision="fp32")
    other = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                             precision="fp32", backend="openvino")
    long = [" ".join(TEXTS[i:i + 4]) for i in range(5)]  # windows of several sentences
    assert other.summarize(long) == reference.summarize(long)
    items = [{"text": t, "title": None} for t in long]
    for a, b in zip(other.values(items, other.encode(items), None),
                    reference.values(items, reference.encode(items), None)):
        assert torch.allclose(a, b, atol=1e-4)  # the sentence scores themselves


def test_conversion_is_cached_per_folder(tmp_path, tiny_models, monkeypatch):
    import shutil

    folder = tmp_path / "topic"
    shutil.copytree(tiny_models["topic"], folder)
    first = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32",
                                                backend="openvino")
    want = first.predict(TEXTS)
    converted = first.conversions
    assert converted.name == folder_fingerprint(folder) and list(converted.glob("*.xml"))

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(ov, "convert_model", no_conversion)
    again = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32",
                                                backend="openvino")
    assert again.predict(TEXTS) == want  # read from the cache
    weights = load_file(folder / "model.safetensors")  # changed weights are converted anew
    save_file({k: v * 2 for k, v in weights.items()}, folder / "model.safetensors",
              metadata={"format": "pt"})
    changed = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32",
                                                  backend="openvino")
    with pytest.raises(AssertionError, match="converted again"):
        changed.predict(TEXTS)


def test_a_second_precision_compiles_the_first_conversion(tiny_models, monkeypatch):
    import gc
    import weakref

    from newsdesk.inference.openvino_backend import OpenVINOBackend

    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], precision="fp32")
    model, cpu = predictor.base_model, torch.device("cpu")
    batch = dict(predictor.tokenizer(TEXTS, padding=True, return_tensors="pt"))
    with torch.no_grad():
        want = model(**batch).logits
    first = OpenVINOBackend(model, cpu, "fp32")  # no cache folder: converted in memory
    assert torch.allclose(first(batch), want, atol=1e-4)
    monkeypatch.setattr(ov, "convert_model", lambda *a, **k: pytest.fail("converted again"))
    OpenVINOBackend(model, cpu, "bf16" if detect().native_bf16 else "fp32")(batch)
    again = OpenVINOBackend(model, cpu, "fp32")
    assert torch.allclose(again(batch), want, atol=1e-4)  # compiling left the conversion as it was
    alive = weakref.ref(model)
    del predictor, model, first, again
    gc.collect()
    assert alive() is None  # the kept conversion does not hold its torch model


class ModeClock:
    """A timer whose runs cost what `cost` says for the predictor's (backend, precision)."""

    def __init__(self, predictor, cost):
        self.predictor, self.cost, self.now = predictor, cost, 0.0

    def __call__(self) -> float:
        self.now += self.cost[(self.predictor.backend.name, self.predictor.precision)]
        return self.now


@pytest.mark.parametrize("cpuinfo, backend, disagree, chosen", [
    (AMX, "auto", None, ("openvino", "bf16")),     # the fastest of all
    (AMX, "auto", "bf16", ("openvino", "int8")),   # bf16 changes labels: the next that agrees
    (AMX, "auto", "int8", ("openvino", "bf16")),
    (ZEN3, "auto", None, ("openvino", "int8")),    # no native bf16: no bf16 timed
    (ZEN3, "auto", "int8", ("openvino", "fp32")),
    (AMX, "torch", None, ("torch", "int8")),       # openvino not allowed
    (AMX, "openvino", "bf16", ("openvino", "int8")),
])
def test_calibration_chooses_between_backends(tiny_models, cpuinfo, backend, disagree, chosen,
                                             monkeypatch):
    monkeypatch.setattr(openvino_backend, "QUANTISE_ROWS", 2)  # TEXTS: 3 distinct rows
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                   backend=backend)
    cost = {("torch", "fp32"): 5.0, ("torch", "bf16"): 3.0, ("torch", "int8"): 2.5,
            ("openvino", "fp32"): 2.0, ("openvino", "bf16"): 1.0, ("openvino", "int8"): 1.5}
    decision = calibrate(predictor, tiny_run(predictor, disagree), len(TEXTS), detect(cpuinfo),
                         timer=ModeClock(predictor, cost))
    assert (decision.backend, decision.precision) == chosen == \
        (predictor.backend.name, predictor.precision)
    timed = {(r["backend"], r["precision"]) for r in decision.rows}
    assert timed == set(candidate_modes(detect(cpuinfo), "cpu", predictor.backends(),
                                        openvino_backend.quantizer_available()))
    assert "openvino" in decision.table() or backend == "torch"
    assert predictor.engine.startswith(f"{chosen[0]}:{chosen[1]}")


def test_int8_is_not_timed_on_too_few_rows_to_quantise(tiny_models):
    # 9 texts, 9 rows: int8 would run fp32 while timed (and look as fast and exact as fp32)
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                   backend="openvino")
    cost = {("torch", "fp32"): 5.0, ("openvino", "fp32"): 2.0, ("openvino", "bf16"): 1.5,
            ("openvino", "int8"): 1.0}
    decision = calibrate(predictor, tiny_run(predictor), len(TEXTS), detect(AMX),
                         timer=ModeClock(predictor, cost))
    assert ("openvino", "int8") not in {(r["backend"], r["precision"]) for r in decision.rows}
    assert (decision.backend, decision.precision) == ("openvino", "bf16")


def test_openvino_options_are_checked(tiny_models, monkeypatch):
    with pytest.raises(NewsdeskError, match="backend must be one of"):
        InferenceOptions(backend="onnx")
    assert InferenceOptions(backend="openvino", precision="int8").resolved().precision == "int8"
    monkeypatch.setattr(openvino_backend, "quantizer_available", lambda: False)
    with pytest.raises(NewsdeskError, match="int8 on backend openvino needs the nncf package"):
        InferenceOptions(backend="openvino", precision="int8").resolved()
    assert InferenceOptions(device="cpu").resolved().backends() == ("torch", "openvino")
    assert InferenceOptions(device="cpu", backend="torch").resolved().backends() == ("torch",)


def test_a_network_that_ignores_an_input_is_fed_what_it_reads(tmp_path, tiny_bert_dir):
    from test_embedding import embedding_folder

    folder, texts = embedding_folder(tmp_path, tiny_bert_dir, 1.0)  # the embedder runs alone
    reference = ClassifierPredictor.from_pretrained(folder, precision="fp32", backend="torch")
    other = ClassifierPredictor.from_pretrained(folder, precision="fp32", backend="openvino")
    assert other.engine == "tfidf+openvino:fp32"
    for a, b in zip(other.predict(texts[:6]), reference.predict(texts[:6])):
        assert a["label"] == b["label"] and a["scores"] == pytest.approx(b["scores"], abs=1e-5)
    assert "token_type_ids" not in other.backend.reads  # mean pooling never reads it


WORDS = " ".join(TEXTS[:3]).split()
MANY = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))]  # distinct rows
MANY += [" ".join(reversed(text.split())) for text in MANY]


def spy(method, calls: list):
    def wrapped(*args, **kwargs):
        calls.append(args)
        return method(*args, **kwargs)
    return wrapped


def test_int8_on_openvino_quantises_from_real_rows_and_agrees(tmp_path, tiny_models, monkeypatch):
    nncf = pytest.importorskip("nncf", reason="int8 needs nncf (pip install 'newsdesk[openvino]')")
    folder = confident_folder(tmp_path, tiny_models["topic"])
    reference = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32")
    want = [p["label"] for p in reference.predict(MANY)]
    fast = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="int8",
                                               backend="openvino", max_tokens=256)
    assert fast.engine == "openvino:int8"
    # until it has seen QUANTISE_ROWS rows, the backend runs fp32 (OpenVINO's): same scores,
    # and the engine says so
    few = fast.predict(MANY[:8])
    assert fast.backend.compiled is None and fast.engine == "openvino:fp32"
    for a, b in zip(few, reference.predict(MANY[:8])):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    fast.predict(MANY[:8])  # the same rows again do not count twice
    assert fast.backend.compiled is None and len(fast.seen_rows) == 8
    runs = []
    monkeypatch.setattr(nncf, "quantize", spy(nncf.quantize, runs))
    got = fast.predict(MANY)  # quantised part-way: every article run again in int8
    assert fast.backend.compiled is not None and fast.engine == "openvino:int8"
    assert fast.backend.fp32_batches > 1 and len(runs) == 1
    assert sum(len(s["input_ids"]) for s in fast.samples) >= openvino_backend.QUANTISE_ROWS
    assert [p["label"] for p in got] == want
    assert list(fast.conversions.glob("*.int8.xml"))  # cached beside the conversion
    # a later predictor of the same folder reads the cached network: no quantising, no samples
    monkeypatch.setattr(nncf, "quantize", lambda *a, **k: pytest.fail("quantised again"))
    openvino_backend.CONVERTED.clear()
    again = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="int8",
                                                backend="openvino")
    assert again.predict(MANY) == got  # int8 throughout: none of `got` is fp32's
    assert again.backend.compiled is not None and again.backend.fp32_batches == 0


def test_the_cached_decision_is_keyed_by_the_modes_timed(tiny_models, monkeypatch):
    from newsdesk.inference.calibrate import cache_key

    caps = detect(AMX)
    with_int8 = cache_key("f", "topic", "cpu", caps, ("torch", "openvino"))
    monkeypatch.setattr(openvino_backend, "quantizer_available", lambda: False)
    assert cache_key("f", "topic", "cpu", caps, ("torch", "openvino")) != with_int8
    assert "openvino:int8" in with_int8


def test_conversion_prints_nothing_for_the_user(tiny_models):
    """Tracing reads every attribute of the summariser's encoder, which made transformers warn
    of a deprecated property and of an unknown loss: noise in a first run's output."""
    import logging
    import warnings

    logging.Logger.warning_once.cache_clear()  # another test may have printed it once already
    predictor = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                                 precision="fp32", backend="openvino")
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logging.getLogger("transformers").addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            predictor.summarize([" ".join(TEXTS[:4])])
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    shown = [w for w in seen if not issubclass(w.category, DeprecationWarning)]  # hidden by default
    assert [str(w.message) for w in shown] == [] and [r.getMessage() for r in records] == []
