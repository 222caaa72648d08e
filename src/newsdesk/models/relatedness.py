"""Word-overlap signals that decide whether a claim and a body are related at all.

A fine-tuned stance transformer reads a claim and a few body sentences; on claims and stories it
never saw it confuses unrelated stories with related ones. The strongest FNC-1 systems leaned on
lexical similarity, which does not depend on the claim's wording having been seen: how similar
the claim is to the body (TF-IDF cosine over the whole body and over its best sentence, the share
of the claim's content words the body contains). `PairModel` decides "unrelated" against the
rest from these and the transformer's own unrelated log-odds (a binary logistic regression with
balanced classes), keeps the transformer's split of the rest among the related classes, and adds
a log-offset per related class (chosen for macro-F1) that sets where the rare ones start; the
offsets reweigh only how the related classes share their mass, so they never move P(unrelated)
(`shift`). Two offsets apply only where the body's wording says they should (`GATES`): the
"disagree" offset to bodies with refuting words (hoax, fake, false, debunked, no evidence, ...),
the "discuss" offset to bodies without hedging words (reportedly, allegedly, according to, ...).
Lifted everywhere, the disagree offset turned ordinary news against its own headline into
"disagree" (54 of 200 BBC pairs); gated, both score higher on held-out stories too
(benchmarks/RESULTS.md).
Everything is fitted on a validation slice of stories the transformer did not train on.

This small, structured form was kept over a 4-class regression on more features (refuting and
hedging word counts) and over gradient boosting: those scored higher when checked on held-out
claims of the same stories, and lower on held-out stories (benchmarks/RESULTS.md), which is what
users meet.

Saved beside the transformer as `pairs.json` (settings, vocabulary, coefficients): nothing is
pickled. `transformers.pipeline` ignores it and gives the transformer's own predictions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import sklearn
from scipy.special import logsumexp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from newsdesk.data.records import DataError
from newsdesk.data.sentences import split_sentences
from newsdesk.models.chunking import content_words

SETTINGS = "pairs.json"
UNRELATED = "unrelated"
FEATURES = ("cosine", "best_sentence", "claim_words_in_body", "model_unrelated_log_odds")
OFFSET_GRID = np.linspace(-2.0, 2.0, 17)
REFUTING = (r"\b(hoax\w*|fake\w*|false\w*|bogus|debunk\w*|refut\w*|untrue|not true|no evidence|"
            r"fabricat\w*|baseless|unfounded|satir\w*|prank\w*)\b")
HEDGING = (r"\b(reportedly|allegedly|alleged|claim\w*|according to|unconfirmed|unverified|"
           r"rumou?r\w*|purported\w*|speculat\w*|if true|appears? to|seems? to)\b")
GATES = {"disagree": (REFUTING, "present"), "discuss": (HEDGING, "absent")}
"""Label -> (words, when): that label's offset applies only to bodies where the words are
"present" (or "absent"). A body that refutes a claim uses refuting words; one that reports it
without any hedging seldom merely discusses it."""


class PairModel:
    """Relatedness from word overlap and the transformer; the related classes from the transformer."""

    def __init__(self, vectorizer: TfidfVectorizer, coef: np.ndarray, intercept: float,
                 mean: np.ndarray, std: np.ndarray, offsets: np.ndarray, labels: list[str],
                 gates: dict[str, tuple[str, str]] | None = None):
        self.vectorizer, self.coef, self.intercept = vectorizer, coef, float(intercept)
        self.mean, self.std, self.offsets, self.labels = mean, std, offsets, list(labels)
        self.unrelated = self.labels.index(UNRELATED)
        self.gates = _compile_gates(GATES if gates is None else gates, self.labels)

    def applies(self, texts: list[str]) -> np.ndarray:
        """(N, labels) 1 where a class's offset applies to a pair, 0 where not (`GATES`)."""
        mask = np.ones((len(texts), len(self.labels)), dtype=np.float32)
        for label, (words, when) in self.gates.items():
            found = np.array([bool(words.search(t)) for t in texts], dtype=bool)
            mask[:, self.labels.index(label)] = found if when == "present" else ~found
        return mask

    @staticmethod
    def fit_vectorizer(texts: list[str]) -> TfidfVectorizer:
        """Word TF-IDF (English stop words out, sublinear counts) over training claims and bodies."""
        return _vectorizer(min_df=2 if len(texts) >= 100 else 1).fit(texts)

    @classmethod
    def fit(cls, vectorizer: TfidfVectorizer, targets: list[str], texts: list[str],
            model_probs: np.ndarray, gold: list[str], labels: list[str], seed: int = 13
            ) -> PairModel:
        """Fit on pairs the transformer did not train on.

        Args:
            vectorizer: from `fit_vectorizer` on the training pairs.
            targets, texts: the validation pairs' claims and bodies.
            model_probs: the transformer's probabilities on them, (N, labels).
            gold: their labels.
            labels: the label order of the probabilities; must hold "unrelated".
        """
        if UNRELATED not in labels:
            raise DataError(f"the word-overlap combination decides {UNRELATED!r} against the "
                            f"related labels, but the labels are {labels}")
        missing = sorted(set(labels) - set(gold))
        if missing:
            raise DataError(f"stance validation slice: label(s) {missing} have no pairs; it "
                            "is too small to fit the word-overlap combination (raise validation)")
        x = features(vectorizer, targets, texts, model_probs, labels.index(UNRELATED))
        mean, std = x.mean(0), x.std(0) + 1e-6
        y = np.array([labels.index(g) for g in gold])
        # balanced: the slice's share of unrelated pairs is an artefact of the split (pairs that
        # would join two sides are set apart), not what users meet, so it sets no prior
        clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced",
                                 random_state=seed).fit((x - mean) / std,
                                                        y == labels.index(UNRELATED))
        model = cls(vectorizer, clf.coef_[0].astype(np.float32), clf.intercept_[0],
                    mean.astype(np.float32), std.astype(np.float32),
                    np.zeros(len(labels), np.float32), labels)
        related = [j for j in range(len(labels)) if labels[j] != UNRELATED]
        applies = model.applies(texts)
        model.offsets = choose_offsets(np.log(model.combine(x, model_probs, applies) + 1e-9), y,
                                       free=related[1:], keep=model.unrelated, applies=applies)
        return model

    def combine(self, x: np.ndarray, model_probs: np.ndarray, applies: np.ndarray
                ) -> np.ndarray:
        """(N, labels): P(unrelated) from the features, the rest split as the transformer splits
        its related mass, reweighed by the class offsets where they apply (`applies`); they leave
        P(unrelated) as it is."""
        z = ((x - self.mean) / self.std) @ self.coef + self.intercept
        p_unrelated = 1.0 / (1.0 + np.exp(-z))
        related = np.delete(model_probs, self.unrelated, axis=1)
        related = related / np.clip(related.sum(1, keepdims=True), 1e-9, None)
        p = np.insert(related * (1 - p_unrelated)[:, None], self.unrelated, p_unrelated, axis=1)
        return np.exp(shift(np.log(np.clip(p, 1e-9, None)), self.offsets * applies,
                            self.unrelated))

    def predict_proba(self, targets: list[str], texts: list[str], model_probs: np.ndarray
                      ) -> np.ndarray:
        """Combined probabilities, (N, labels)."""
        x = features(self.vectorizer, targets, texts, model_probs, self.unrelated)
        return self.combine(x, model_probs, self.applies(texts))

    def save(self, folder: str | Path) -> None:
        terms = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        settings = {"labels": self.labels, "features": list(FEATURES),
                    "sklearn": sklearn.__version__, "terms": terms,
                    "idf": self.vectorizer.idf_.tolist(), "coef": self.coef.tolist(),
                    "intercept": self.intercept, "mean": self.mean.tolist(),
                    "std": self.std.tolist(), "offsets": self.offsets.tolist(),
                    "gated": {label: {"words": words.pattern, "when": when}
                              for label, (words, when) in self.gates.items()}}
        (Path(folder) / SETTINGS).write_text(json.dumps(settings) + "\n")

    @classmethod
    def load(cls, folder: str | Path, labels: list[str]) -> PairModel:
        """Load from a model folder, checking it against the transformer's labels."""
        path = Path(folder) / SETTINGS
        if not path.is_file():
            raise DataError(f"{folder}: {SETTINGS} is missing, but newsdesk.json says the stance "
                            "model combines word-overlap features (retrain, or set \"lexical\": "
                            "\"none\")")
        try:
            s = json.loads(path.read_text())
            arrays = {k: np.asarray(s[k], dtype=np.float32) for k in
                      ("coef", "mean", "std", "offsets")}
            terms, idf, intercept = s["terms"], np.asarray(s["idf"], dtype=np.float64), \
                float(s["intercept"])
            gates = {label: (g["words"], g["when"])  # absent: fitted before the gates
                     for label, g in s.get("gated", {}).items()}
        except (ValueError, KeyError, TypeError, OSError, AttributeError) as e:
            raise DataError(f"{path}: unreadable word-overlap model ({e})") from e
        if s["labels"] != list(labels):
            raise DataError(f"{path}: labels {s['labels']} differ from the model's {list(labels)}")
        if arrays["coef"].shape != (len(FEATURES),) or arrays["offsets"].shape != (len(labels),) \
                or len(terms) != len(idf) or UNRELATED not in labels:
            raise DataError(f"{path}: shapes do not match {len(FEATURES)} features and "
                            f"{len(labels)} labels")
        vectorizer = _vectorizer(vocabulary=terms)
        vectorizer.idf_ = idf
        try:
            return cls(vectorizer, arrays["coef"], intercept, arrays["mean"], arrays["std"],
                       arrays["offsets"], labels, gates)
        except (ValueError, re.error) as e:  # a gate's words or `when`
            raise DataError(f"{path}: unreadable word-overlap model ({e})") from e


def features(vectorizer: TfidfVectorizer, targets: list[str], texts: list[str],
             model_probs: np.ndarray, unrelated: int) -> np.ndarray:
    """(N, len(FEATURES)): the claim's TF-IDF cosine with the body and with its best sentence,
    the share of its content words in the body, and the transformer's unrelated log-odds. A body
    shared by many claims is split and vectorised once."""
    bodies = sorted(set(texts))
    where = {t: i for i, t in enumerate(bodies)}
    body_vec = vectorizer.transform(bodies)
    sentences = [split_sentences(b) or [b] for b in bodies]
    sentence_vec = vectorizer.transform([s for ss in sentences for s in ss])
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    body_words = [content_words(b) for b in bodies]
    claims = sorted(set(targets))
    claim_vec = dict(zip(claims, vectorizer.transform(claims)))
    rows = []
    for target, text in zip(targets, texts):
        b, c = where[text], claim_vec[target]
        sims = (sentence_vec[starts[b]:starts[b + 1]] @ c.T).toarray().ravel()
        wanted = content_words(target)
        rows.append([float((body_vec[b] @ c.T).toarray()[0, 0]), float(sims.max()),
                     len(wanted & body_words[b]) / max(1, len(wanted))])
    x = np.asarray(rows, dtype=np.float32).reshape(len(targets), 3)
    p = np.clip(model_probs[:, unrelated], 1e-6, 1 - 1e-6)
    return np.hstack([x, np.log(p / (1 - p))[:, None].astype(np.float32)])


def shift(log_probs: np.ndarray, offsets: np.ndarray, keep: int | None = None) -> np.ndarray:
    """Log-probabilities with per-class log-offsets added (one row for all, or one per row),
    renormalised. With `keep`, that class's probability stays as it is and the offsets reweigh
    only how the other classes share the rest (the stance model's offsets choose among the
    related classes and leave "unrelated" to the relatedness regression)."""
    z = log_probs + offsets
    if keep is None:
        return z - logsumexp(z, axis=1, keepdims=True)
    kept = log_probs[:, keep:keep + 1]
    others = np.delete(z, keep, axis=1)
    others = others - logsumexp(others, axis=1, keepdims=True) + np.log1p(
        -np.exp(np.minimum(kept, -1e-9)))
    return np.insert(others, keep, kept[:, 0], axis=1)


def choose_offsets(log_probs: np.ndarray, gold: np.ndarray, rounds: int = 3,
                   free: list[int] | None = None, keep: int | None = None,
                   applies: np.ndarray | None = None) -> np.ndarray:
    """Per-class log-offsets that maximise macro-F1 on these pairs, one class at a time
    (coordinate ascent over `OFFSET_GRID`); a change must gain. Only the classes in `free`
    move (default: all but the first); `keep` is a class whose probability they leave as it
    is (`shift`): the stance model moves the related classes but the first among themselves,
    leaving "unrelated" to the relatedness regression. `applies` (N, classes) is 1 where a
    class's offset applies to a row, 0 where not (default: everywhere)."""
    k = log_probs.shape[1]
    applies = np.ones_like(log_probs) if applies is None else applies
    offsets = np.zeros(k)
    labels = list(range(k))
    free = list(range(1, k)) if free is None else free

    def score(o):
        return f1_score(gold, shift(log_probs, o * applies, keep).argmax(1), labels=labels,
                        average="macro")

    best = score(offsets)
    for _ in range(rounds):
        changed = False
        for j in free:
            for v in OFFSET_GRID:
                trial = offsets.copy()
                trial[j] = v
                s = score(trial)
                if s > best + 1e-9:
                    best, offsets, changed = s, trial, True
        if not changed:
            break
    return offsets.astype(np.float32)


def _compile_gates(gates: dict[str, tuple[str, str]], labels: list[str]
                   ) -> dict[str, tuple[re.Pattern, str]]:
    """`GATES`-like settings compiled, for the labels the model has ({}: every offset applies
    to every pair). Raises ValueError or re.error on a bad pattern or `when`."""
    compiled = {}
    for label, (words, when) in gates.items():
        if when not in ("present", "absent"):
            raise ValueError(f"a gate applies where words are present or absent, not {when!r}")
        if label in labels:
            compiled[label] = (re.compile(words, re.IGNORECASE), when)
    return compiled


def _vectorizer(**kwargs) -> TfidfVectorizer:
    return TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32, **kwargs)
