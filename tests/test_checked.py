"""Checked reduced precision: close calls are made again in fp32, so outputs equal fp32's."""

from __future__ import annotations

import random

import pytest
import torch

from newsdesk.inference import ClassifierPredictor, SummaryPredictor
from newsdesk.inference.calibrate import QUANTILE, calibrate, shift
from newsdesk.inference.hardware import detect
from newsdesk.models.folder import ExtractiveSettings
from newsdesk.models.selection import doubtful_sentences, select_sentences, stable_selection
from test_calibrate import AMX, TEXTS, Clock, confident_folder, tiny_run

from conftest import make_article

SENTENCES = ["The bank raised its rates on Monday.", "Shares fell after the news.",
             "Analysts had expected a cut.", "The weather was mild.", "A match was played."]
TWO = ExtractiveSettings(max_length=64, budget="sentences", sentences=2, trigram_blocking=False,
                         sentences_only=False)


def test_shift_is_how_far_neighbouring_differences_move():
    reference = [torch.tensor([1.0, 0.0, 0.5]), torch.tensor([0.2, 0.3])]
    moved = [torch.tensor([1.1, -0.1, 0.5]), torch.tensor([0.2, 0.35])]
    # neighbours in the reference's order: 1.0-0.5 and 0.5-0.0 each moved by 0.1, 0.3-0.2 by 0.05
    assert shift(reference, moved, quantile=1.0) == pytest.approx(0.1)
    assert shift(reference, moved, quantile=0.0) == pytest.approx(0.05)
    assert shift(reference, reference) == 0.0 and shift([torch.tensor([1.0])], [torch.tensor([2.0])]) == 0.0


def test_selection_is_a_close_call_only_where_a_swap_changes_it():
    scores = [0.9, 0.5, 0.48, 0.1, 0.09]  # picks 0 and 1; 1 and 2 are 0.02 apart
    assert select_sentences(SENTENCES, scores, TWO) == [0, 1]
    assert not stable_selection(SENTENCES, scores, TWO, tolerance=0.03)
    assert stable_selection(SENTENCES, scores, TWO, tolerance=0.01)
    # a near tie among sentences it never reads (3 and 4) is no close call
    assert stable_selection(SENTENCES, [0.9, 0.5, 0.3, 0.1, 0.09], TWO, tolerance=0.05)
    # a near tie inside the chosen pair does not change the choice either
    assert stable_selection(SENTENCES, [0.9, 0.89, 0.3, 0.1, 0.0], TWO, tolerance=0.05)
    # the close call's own sentences, and none once both are exact (made again in fp32)
    assert doubtful_sentences(SENTENCES, scores, TWO, 0.03) == {1, 2}
    assert doubtful_sentences(SENTENCES, scores, TWO, 0.03, exact={1}) == {1, 2}
    assert doubtful_sentences(SENTENCES, scores, TWO, 0.03, exact={1, 2}) == set()


def test_classifier_close_calls(tiny_models):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                    precision="int8")
    predictor.tolerance = 0.1
    assert predictor.stable(torch.tensor([0.6, 0.3, 0.1]))
    assert not predictor.stable(torch.tensor([0.45, 0.4, 0.15]))


def test_checked_mode_gives_fp32_outputs_on_close_calls(tiny_models):
    reference = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                    precision="fp32")
    fast = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                               precision="int8")
    expected = reference.predict(TEXTS)
    fast.use("int8", fast.max_tokens, tolerance=10.0)  # every decision is a close call
    assert fast.predict(TEXTS) == expected and fast.engine == "torch:int8+check"
    assert fast.stats["rechecked"] == fast.stats["checked"] == len(TEXTS)
    assert 0 < fast.stats["recheck_seconds"] < fast.stats["seconds"]  # rechecks are part of it
    fast.use("int8", fast.max_tokens, tolerance=1e-9)  # none is
    before = dict(fast.stats)
    fast.predict(TEXTS)
    assert fast.stats["rechecked"] == before["rechecked"]
    assert fast.stats["checked"] == before["checked"] + len(TEXTS)


def test_checked_stance_pairs_and_summaries_equal_fp32(tiny_models):
    reference = ClassifierPredictor.from_pretrained(tiny_models["stance"], device="cpu",
                                                    precision="fp32")
    fast = ClassifierPredictor.from_pretrained(tiny_models["stance"], device="cpu",
                                               precision="int8")
    fast.use("int8", fast.max_tokens, tolerance=10.0)
    targets = ["Profit rose", "The team won"] * (len(TEXTS) // 2) + ["Profit rose"]
    assert fast.predict(TEXTS, targets) == reference.predict(TEXTS, targets)
    summarizer = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                                  precision="fp32")
    articles = [" ".join(TEXTS[i:] + TEXTS[:i]) for i in range(4)]
    expected = summarizer.summarize(articles)
    summarizer.use("int8", summarizer.max_tokens, tolerance=10.0)
    assert summarizer.summarize(articles) == expected
    assert summarizer.stats["rechecked"] == len(articles)


def test_summary_close_calls_rescore_only_the_windows_they_need(tiny_models, monkeypatch):
    summarizer = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                                  precision="fp32")
    summarizer.settings.budget, summarizer.settings.sentences = "sentences", 2
    summarizer.settings.trigram_blocking = summarizer.settings.sentences_only = False
    encoded = summarizer.encode([{"text": " ".join(TEXTS * 2)}])
    windows, owners = summarizer.windows(encoded)
    assert len(windows) >= 3  # the tiny model's windows are short
    last = windows[-1].sentences[-1]
    fast = [1.0 - 0.01 * s for s in range(last + 1)]  # picks 0 and 1; 1 and 2 are close
    fast[2] = 0.985
    calls = []

    def score_windows(ws, own, which, scores):
        which = list(which)
        calls.append((summarizer.backend is fast_backend, which))
        for w in which:
            for s in ws[w].sentences:
                scores[own[w]][s] = fast[s] if summarizer.backend is fast_backend else exact[s]

    fast_backend = summarizer.backend
    monkeypatch.setattr(summarizer, "score_windows", score_windows)
    summarizer.tolerance = 0.02
    holding = [w for w, win in enumerate(windows) if {1, 2} & set(win.sentences)]
    exact = list(fast)  # fp32 agrees with the fast scores: the call is settled by those windows
    assert summarizer.extract_encoded(encoded)[0][1] == [0, 1]
    assert calls == [(True, list(range(len(windows)))), (False, holding)]
    assert summarizer.stats["rechecked_windows"] == len(holding) < len(windows)

    calls.clear()  # fp32 drops sentence 1 beside 3 and 4 (not checked yet): the rest too
    exact[1] = 0.965
    sentences = encoded[0].sentences
    assert summarizer.extract_encoded(encoded)[0][1] == \
        select_sentences(sentences, exact, summarizer.settings) == [0, 2]
    rest = [w for w in range(len(windows)) if w not in holding]
    assert calls == [(True, list(range(len(windows)))), (False, holding), (False, rest)]


def test_calibration_sets_the_tolerance_from_the_shift_it_measures(tiny_models):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    items = [{"text": t, "title": None} for t in TEXTS]
    encoded = predictor.encode(items)

    def values():
        return predictor.values(items, encoded)

    decision = calibrate(predictor, tiny_run(predictor), len(TEXTS), detect(AMX),
                         timer=Clock(predictor, {"fp32": 3.0, "bf16": 2.0, "int8": 1.0}),
                         values=values)
    rows = {r["precision"]: r for r in decision.rows
            if r["max_tokens"] == decision.rows[0]["max_tokens"] and r["backend"] == "torch"}
    assert rows["fp32"]["tolerance"] == 0.0
    assert decision.tolerance == predictor.tolerance == rows[decision.precision]["tolerance"]
    predictor.use("fp32", decision.max_tokens)
    reference = values()
    predictor.use("int8", decision.max_tokens)
    assert rows["int8"]["tolerance"] == pytest.approx(shift(reference, values()), abs=1e-6)
    assert rows["int8"]["tolerance"] > 0 and rows["int8"]["agreement"] == 1.0


@pytest.mark.parametrize("needed", [None, 0.9])
def test_calibration_widens_the_tolerance_where_the_quantile_lets_outputs_change(
        tmp_path, tiny_models, monkeypatch, needed):
    from newsdesk.inference import calibrate as calibration

    if needed is not None:  # 11 of 12 equal passes this share, yet a label changed: widened too
        monkeypatch.setitem(calibration.AGREEMENT, "prediction", needed)
    predictor = ClassifierPredictor.from_pretrained(confident_folder(tmp_path, tiny_models["topic"]),
                                                    device="cpu", backend="torch")
    rng = random.Random(0)
    topics = ["business", "sport", "tech"]
    items = [{"text": make_article(rng, topics[i % 3], 3), "title": None} for i in range(12)]
    encoded = predictor.encode(items)
    first = {}

    def run(n=None):  # int8 changes a label at the first (quantile) tolerance only
        out = predictor._predict(items[:n], encoded[:n], None)
        if predictor.precision == "int8" and \
                first.setdefault("tolerance", predictor.tolerance) == predictor.tolerance:
            out = [{**out[0], "label": "flipped"}, *out[1:]]
        return out

    decision = calibrate(predictor, run, len(items), detect(AMX),
                         timer=Clock(predictor, {"fp32": 3.0, "bf16": 2.0, "int8": 1.0}),
                         values=lambda: predictor.values(items, encoded))
    int8 = [r for r in decision.rows if r["precision"] == "int8"]
    assert int8[0]["agreement"] == round(11 / 12, 4) and not int8[0]["agrees"]
    assert int8[1]["agreement"] == 1.0 and int8[1]["agrees"]
    assert int8[1]["tolerance"] > int8[0]["tolerance"]
    assert (decision.precision, decision.tolerance) == ("int8", int8[1]["tolerance"])


def test_summaries_take_their_own_quantile_of_the_shift(tiny_models):
    summarizer = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu")
    rng = random.Random(5)
    items = [{"text": make_article(rng, "business", rng.randint(4, 12))} for _ in range(12)]
    encoded = summarizer.encode(items)

    def values():
        return summarizer.values(items, encoded)

    decision = calibrate(summarizer, lambda n=None: summarizer._predict(items[:n], encoded[:n]),
                         len(items), detect(AMX), values=values,
                         timer=Clock(summarizer, {"fp32": 3.0, "bf16": 2.0, "int8": 1.0}))
    summarizer.use("fp32", decision.max_tokens)
    reference = values()
    summarizer.use("int8", decision.max_tokens)
    moved = values()
    expected = shift(reference, moved, QUANTILE["text"])
    assert QUANTILE["text"] < QUANTILE["prediction"]
    assert expected < shift(reference, moved, QUANTILE["prediction"])  # the kinds differ here
    first = next(r for r in decision.rows if r["precision"] == "int8")
    assert first["tolerance"] == pytest.approx(expected, abs=1e-6)
