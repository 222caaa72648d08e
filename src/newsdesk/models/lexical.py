"""A word-feature topic model that a fine-tuned topic classifier averages its probabilities with.

The transformer reads an article as 256-token chunks; a TF-IDF (words and word pairs, sublinear
term frequency; optionally also character 3-5-grams within words, `Features`) logistic
regression reads every word of it at once. They miss different articles
(on the BBC dev split the transformer misses 6 of 282 articles and the regression 7, only 2 of
them the same), so their average is right more often than either. It costs a sparse dot product per article.

Saved beside the transformer as `lexical.json` (settings and vocabulary) and
`lexical.safetensors` (idf weights and coefficients): nothing is pickled, so loading a folder
never runs code from it. `transformers.pipeline` ignores both files and gives the transformer's
own predictions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import sklearn
import torch
from safetensors.numpy import load_file, save_file
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split

from newsdesk.data.records import DataError
from newsdesk.models.embedding import SCALE
from newsdesk.models.multilabel import (
    decide,
    micro_f1,
    multi_hot,
    positive_weights,
    threshold_vector,
    tune_thresholds,
)

SETTINGS, WEIGHTS = "lexical.json", "lexical.safetensors"
C_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0)  # inverse L2 strength, picked by CV log-loss
NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)
CV_ARTICLES = 5000
MULTI_LABEL_C = 30.0  # one binary regression per label; per-label thresholds set the operating point


class Features:
    """TF-IDF rows over words and word pairs and, optionally, over character n-grams within
    words (`CHAR_NGRAMS`, scikit-learn's "char_wb"); each part is L2-normalised and the two are
    placed side by side.

    Character n-grams let stories share evidence that whole words do not: inflections and
    joined or abbreviated names ("soybean"/"soybeans", "soy-oil"/"soyoil", "dlrs"/"dlr"), which
    matters for labels seen in a handful of stories (`benchmarks/bench_lexical_weights.py
    --chars`). They cost about 4x the fit time and 2x the saved size.

    Optionally, a frozen encoder's article embedding (`models.embedding`) makes the last
    columns: dense, given to `fit` and `transform` by the caller, which runs the encoder.
    """

    def __init__(self, words: TfidfVectorizer, chars: TfidfVectorizer | None = None,
                 embedding_dims: int = 0):
        self.words, self.chars, self.embedding_dims = words, chars, embedding_dims

    @classmethod
    def fit(cls, texts: list[str], chars: bool = False, embeddings: np.ndarray | None = None
            ) -> tuple[Features, sparse.csr_matrix]:
        """Fitted features and the rows of `texts`. Terms seen in one article only are noise in
        a corpus of any size; tiny ones keep them.

        Args:
            embeddings: (articles, dims) vectors of `texts` (`models.embedding`), read as
                `dims` more columns (times `embedding.SCALE`); every later `transform` then
                needs them too.
        """
        min_df = 2 if len(texts) >= 100 else 1
        features = cls(_vectorizer(min_df=min_df),
                       _vectorizer(CHAR_NGRAMS, "char_wb", min_df=min_df) if chars else None,
                       0 if embeddings is None else int(embeddings.shape[1]))
        parts = [features.words.fit_transform(texts)]
        if features.chars is not None:
            parts.append(features.chars.fit_transform(texts))
        return features, features._with_embeddings(parts, len(texts), embeddings)

    def transform(self, texts: list[str], embeddings: np.ndarray | None = None
                  ) -> sparse.csr_matrix:
        parts = [v.transform(texts) for v in (self.words, self.chars) if v is not None]
        return self._with_embeddings(parts, len(texts), embeddings)

    def _with_embeddings(self, parts: list, n: int, embeddings: np.ndarray | None
                         ) -> sparse.csr_matrix:
        if self.embedding_dims:
            if embeddings is None:
                raise ValueError("this lexical model reads article embeddings beside its "
                                 "words, and none were given")
            if embeddings.shape != (n, self.embedding_dims):
                raise ValueError(f"embeddings of shape {embeddings.shape} for {n} articles; "
                                 f"this model reads {self.embedding_dims} dimensions")
            parts.append(sparse.csr_matrix(SCALE * np.asarray(embeddings, dtype=np.float32)))
        return sparse.hstack(parts, format="csr")

    def __len__(self) -> int:
        terms = sum(len(v.idf_) for v in (self.words, self.chars) if v is not None)
        return terms + self.embedding_dims

    def settings(self) -> dict:
        """What `load` needs besides `weights`, as JSON values."""
        out = {"ngram_range": list(self.words.ngram_range), "terms": _terms(self.words)}
        if self.chars is not None:
            out |= {"char_ngram_range": list(self.chars.ngram_range),
                    "char_terms": _terms(self.chars)}
        if self.embedding_dims:
            out |= {"embedding_dims": self.embedding_dims, "embedding_scale": SCALE}
        return out

    def weights(self) -> dict[str, np.ndarray]:
        out = {"idf": self.words.idf_.astype(np.float64)}
        if self.chars is not None:
            out["char_idf"] = self.chars.idf_.astype(np.float64)
        return out

    @classmethod
    def load(cls, settings: dict, weights: dict[str, np.ndarray]) -> Features:
        """From `settings()` and `weights()` (KeyError or ValueError when they do not match)."""
        def part(terms: list[str], idf: np.ndarray, ngrams, analyzer: str) -> TfidfVectorizer:
            if len(terms) != len(idf):
                raise ValueError(f"{len(terms)} terms but {len(idf)} idf weights")
            v = _vectorizer(tuple(ngrams), analyzer, vocabulary=terms)
            v.idf_ = idf
            return v

        words = part(settings["terms"], weights["idf"], settings["ngram_range"], "word")
        chars = None
        if "char_terms" in settings:
            chars = part(settings["char_terms"], weights["char_idf"],
                         settings["char_ngram_range"], "char_wb")
        if settings.get("embedding_scale", SCALE) != SCALE:
            raise ValueError(f"embedding scale {settings['embedding_scale']}; this newsdesk "
                             f"reads {SCALE}")
        return cls(words, chars, int(settings.get("embedding_dims", 0)))


class LexicalModel:
    """TF-IDF features and a multinomial logistic regression over them."""

    def __init__(self, features: Features, coef: np.ndarray, intercept: np.ndarray,
                 labels: list[str], c: float, multi_label: bool = False):
        self.features, self.coef, self.intercept = features, coef, intercept
        self.labels, self.c, self.multi_label = list(labels), c, multi_label

    @classmethod
    def fit_multilabel(cls, texts: list[str], label_lists: list[list[str]], labels: list[str],
                       seed: int = 13, weighting: str = "balanced", chars: bool = False,
                       embeddings: np.ndarray | None = None) -> LexicalModel:
        """Fit one binary logistic regression per label (one-vs-rest) on training articles whose
        labels are lists; `predict_proba` then gives independent per-label probabilities. A
        label with no training article gets a constant low score.

        Args:
            weighting: "balanced" weighs each label's positives and negatives inversely to
                their counts (scikit-learn's "balanced"), so a label with a handful of stories
                still scores high enough for a tuned threshold to find them (unweighted, such a
                label rarely scores above 0.1); "sqrt" weighs the positives by the square root
                of negatives / positives (capped at 10); "none" weighs every article alike.
                newsdesk fits "balanced": `benchmarks/bench_lexical_weights.py` compares them.
            chars: also read character n-grams (`Features`).
            embeddings: also read these article embeddings (`Features.fit`).
        """
        features, x = Features.fit(texts, chars, embeddings)
        coef = np.zeros((len(labels), x.shape[1]), dtype=np.float32)
        intercept = np.full(len(labels), -10.0, dtype=np.float32)
        weights = _class_weights(weighting, label_lists, labels)
        for j, lab in enumerate(labels):
            y = np.array([lab in (labs or []) for labs in label_lists])
            if 0 < y.sum() < len(y):
                clf = _regression(MULTI_LABEL_C, seed).set_params(class_weight=weights[j])
                clf.fit(x, y)
                coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        return cls(features, coef, intercept, labels, MULTI_LABEL_C, multi_label=True)

    @classmethod
    def out_of_fold(cls, texts: list[str], label_lists: list, labels: list[str],
                    seed: int = 13, folds: int = 5, embeddings: np.ndarray | None = None,
                    multi_label: bool = True, **options) -> np.ndarray:
        """Probabilities (articles x labels) where each article's come from a model fitted on
        the other folds (`fit_multilabel`, or `fit` where not `multi_label`, with `options` and
        the fold's rows of `embeddings`): held-out scores for every training article, at the
        cost of `folds` fits. Single-label folds are stratified by label, so each fold's model
        knows every label."""
        out = np.zeros((len(texts), len(labels)), dtype=np.float32)
        if multi_label:
            fit, split = cls.fit_multilabel, KFold(folds, shuffle=True, random_state=seed)
        else:
            fit, split = cls.fit, StratifiedKFold(folds, shuffle=True, random_state=seed)
        for fit_rows, held in split.split(texts, None if multi_label else label_lists):
            model = fit([texts[i] for i in fit_rows], [label_lists[i] for i in fit_rows],
                        labels, seed, embeddings=_rows(embeddings, fit_rows), **options)
            out[held] = model.predict_proba([texts[i] for i in held], _rows(embeddings, held))
        return out

    @classmethod
    def fit(cls, texts: list[str], ys: list[str], labels: list[str], seed: int = 13,
            chars: bool = False, embeddings: np.ndarray | None = None, c: float | None = None
            ) -> LexicalModel:
        """Fit on training articles; the regularisation strength is `c`, or where it is None
        chosen by stratified cross-validated log-loss on these articles (see `_pick_c`).

        Args:
            texts: article texts (title and body).
            ys: their labels.
            labels: the label order of the probabilities (the transformer's).
            chars: also read character n-grams (`Features`).
            embeddings: also read these article embeddings (`Features.fit`).
            c: the inverse L2 strength, where it is known (out-of-fold fits reuse the one
                picked on all the articles: 5 fits instead of 5 cross-validations).
        """
        missing = sorted(set(labels) - set(ys))
        if missing:
            raise DataError(f"lexical model: label(s) {missing} have no training articles")
        features, x = Features.fit(texts, chars, embeddings)
        c = _pick_c(x, ys, seed) if c is None else c
        clf = _regression(c).fit(x, ys)
        coef, intercept = clf.coef_, clf.intercept_
        if len(clf.classes_) == 2:  # one logit z for the second class: softmax(-z/2, z/2)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.hstack([-intercept / 2,
                                                                           intercept / 2])
        order = [list(clf.classes_).index(lab) for lab in labels]
        return cls(features, coef[order].astype(np.float32), intercept[order].astype(np.float32),
                   labels, c)

    @property
    def reads_embeddings(self) -> bool:
        """Whether `predict_proba` needs the articles' embeddings (`models.embedding`)."""
        return self.features.embedding_dims > 0

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None
                      ) -> np.ndarray:
        """Probabilities, one row per text, columns in `labels` order (`embeddings`: theirs,
        when the model `reads_embeddings`)."""
        z = self.features.transform(texts, embeddings) @ self.coef.T + self.intercept
        if self.multi_label:
            return 1.0 / (1.0 + np.exp(-z))
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        settings = {"labels": self.labels, "c": self.c, "multi_label": self.multi_label,
                    "sklearn": sklearn.__version__, **self.features.settings()}
        (folder / SETTINGS).write_text(json.dumps(settings) + "\n")
        save_file({**self.features.weights(), "coef": self.coef, "intercept": self.intercept},
                  str(folder / WEIGHTS))

    @classmethod
    def load(cls, folder: str | Path, labels: list[str]) -> LexicalModel:
        """Load from a model folder, checking it against the transformer's labels."""
        folder = Path(folder)
        for name in (SETTINGS, WEIGHTS):
            if not (folder / name).is_file():
                raise DataError(f"{folder}: {name} is missing, but newsdesk.json says the model "
                                "blends a lexical model (retrain, or set \"lexical\": \"none\")")
        try:
            settings = json.loads((folder / SETTINGS).read_text())
            weights = load_file(str(folder / WEIGHTS))
            features = Features.load(settings, weights)
            coef, intercept = weights["coef"], weights["intercept"]
        except (ValueError, KeyError, OSError) as e:
            raise DataError(f"{folder}: unreadable lexical model ({e})") from e
        if settings["labels"] != list(labels):
            raise DataError(f"{folder}/{SETTINGS}: labels {settings['labels']} differ from the "
                            f"model's {list(labels)}")
        if len(features) != coef.shape[1] or coef.shape[0] != len(labels) \
                or intercept.shape != (len(labels),):
            raise DataError(f"{folder}/{WEIGHTS}: shapes do not match {len(features)} terms and "
                            f"{len(labels)} labels")
        return cls(features, coef, intercept, labels, settings["c"],
                   settings.get("multi_label", False))


def _rows(embeddings: np.ndarray | None, rows) -> np.ndarray | None:
    return None if embeddings is None else embeddings[rows]


def _class_weights(weighting: str, label_lists: list[list[str]], labels: list[str]) -> list:
    """Each label's class weights for `LexicalModel.fit_multilabel`'s regressions."""
    if weighting == "sqrt":  # as the transformer's loss weighs them (`positive_weights`)
        w = positive_weights(multi_hot(label_lists, labels), "sqrt")
        return [{True: float(x), False: 1.0} for x in w]
    if weighting in ("balanced", "none"):
        return [None if weighting == "none" else "balanced"] * len(labels)
    raise ValueError(f"weighting must be none, sqrt or balanced, got {weighting!r}")


def _pick_c(x, ys: list[str], seed: int) -> float:
    """The C of `C_GRID` with the best 5-fold log-loss, on at most `CV_ARTICLES` articles (a
    stratified sample) so that large corpora stay quick; folds run in parallel."""
    ys = np.asarray(ys)
    if len(ys) > CV_ARTICLES:
        keep, _ = train_test_split(np.arange(len(ys)), train_size=CV_ARTICLES, stratify=ys,
                                   random_state=seed)
        x, ys = x[np.sort(keep)], ys[np.sort(keep)]
    folds = min(5, min(Counter(ys.tolist()).values()))
    if folds < 2:
        return C_GRID[2]
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = [cross_val_score(_regression(c), x, ys, cv=cv, scoring="neg_log_loss",
                              n_jobs=-1).mean() for c in C_GRID]
    return C_GRID[int(np.argmax(scores))]


def _vectorizer(ngram_range: tuple[int, int] = NGRAMS, analyzer: str = "word", **kwargs
                ) -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=ngram_range, analyzer=analyzer, sublinear_tf=True,
                           dtype=np.float32, **kwargs)


def _terms(vectorizer: TfidfVectorizer) -> list[str]:
    """The vocabulary in column order."""
    return sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)


def _regression(c: float, seed: int | None = None) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, random_state=seed)


WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(21))

HALVINGS = 5
"""Random halvings of the slice a multi-label weight is scored on (each half tunes, the other
scores, both ways)."""


def blend(model, words, weight: float, space: str = "probabilities"):
    """The blend of the transformer's and the lexical model's probabilities (arrays or tensors
    of the same shape): `weight` is the lexical model's share, averaged in `space`:
    "probabilities" (single-label topics), or "log_odds" (multi-label: a label one part is sure
    of and the other shrugs at stays likely, as with two independent pieces of evidence)."""
    if space == "probabilities" or weight in (0.0, 1.0):
        return (1 - weight) * model + weight * words
    if isinstance(model, np.ndarray):
        return 1 / (1 + np.exp(-blend(_logit(model), _logit(words), weight)))
    return blend(model.clamp(1e-6, 1 - 1e-6).logit(), words.clamp(1e-6, 1 - 1e-6).logit(),
                 weight).sigmoid()


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def choose_weight(model: np.ndarray, words: np.ndarray, gold: np.ndarray
                  ) -> tuple[float, dict[float, float]]:
    """The lexical share of a single-label blend, from `WEIGHT_GRID` (0 is the transformer
    alone, 1 the lexical model alone), on articles neither part trained on: the best macro-F1,
    ties broken by the lower log-loss, so the blend is never below the better part on these
    articles.

    Args:
        model, words: (N, labels) probabilities of the two parts.
        gold: (N,) label indices.

    Returns:
        (the weight, {weight: its macro-F1}).
    """
    scores, keys = {}, {}
    for w in WEIGHT_GRID:
        p = np.clip(blend(model, words, w), 1e-7, 1 - 1e-7)
        f1 = float(f1_score(gold, p.argmax(1), labels=range(p.shape[1]), average="macro"))
        loss = -float(np.mean(np.log(p[np.arange(len(gold)), gold])))
        scores[w], keys[w] = f1, (round(f1, 6), -loss)
    return max(WEIGHT_GRID, key=lambda w: keys[w]), scores


def choose_multilabel_weight(model: torch.Tensor, words: torch.Tensor, gold: torch.Tensor,
                             labels: list[str], seed: int = 13, no_label: str = "best"
                             ) -> tuple[float, dict[float, float]]:
    """The lexical share of a multi-label blend (averaged in log-odds), from `WEIGHT_GRID`, by
    the micro-F1 its decisions reach on articles neither part trained on.

    A multi-label blend decides through thresholds tuned on the same articles, so each weight
    is scored as it will be used: thresholds tuned on one half of the articles, micro-F1 on the
    other, both ways, over `HALVINGS` random halvings (one halving alone orders close weights
    by noise). Ties go to the lower binary cross-entropy.

    Args:
        model, words: (N, labels) probabilities of the two parts.
        gold: (N, labels) 0/1 targets.

    Returns:
        (the weight, {weight: its mean held-half micro-F1}).
    """
    rng = np.random.default_rng(seed)
    halves = [torch.from_numpy(rng.random(len(gold)) < 0.5) for _ in range(HALVINGS)]
    scores, keys = {}, {}
    for w in WEIGHT_GRID:
        p = blend(model, words, w, "log_odds")
        micro = []
        for half in halves:
            for tune, held in ((half, ~half), (~half, half)):
                own, shared = tune_thresholds(p[tune], gold[tune], labels, no_label)
                on = decide(p[held], threshold_vector(labels, own, shared), no_label)
                micro.append(micro_f1(on, gold[held]))
        q = p.clamp(1e-7, 1 - 1e-7)
        loss = -float((gold * q.log() + (1 - gold) * (1 - q).log()).mean())
        scores[w] = round(float(np.mean(micro)), 4)
        keys[w] = (scores[w], -loss)
    return max(WEIGHT_GRID, key=lambda w: keys[w]), scores
