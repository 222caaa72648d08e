"""What a classifier decides after training, fitted on a validation slice it never trained on.

The transformer and its TF-IDF partner train on the training part; a slice of the training split
held out from both (`ClassifierConfig.validation`) then fits the topic blend weight, the stance
word-overlap combination (`models.relatedness`), the confidence temperature and multi-label
thresholds (a topic model's TF-IDF partner is refitted on the whole training split, and its
out-of-fold probabilities stand for it on the slice). Dev stays untouched until the final
evaluation, so its figures are honest.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from newsdesk.data.splits import story_keys
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.models import lexical
from newsdesk.models.confidence import calibration_report
from newsdesk.models.folder import ClassifierSettings, write_settings
from newsdesk.models.inputs import article_texts
from newsdesk.models.multilabel import multi_hot, tune_thresholds
from newsdesk.models.relatedness import PairModel
from newsdesk.training.evaluation import REFERENCE, classifier_parts

log = logging.getLogger("newsdesk")


def fit_on_validation(folder: str | Path, ds: datasets.Dataset, settings: ClassifierSettings,
                      vectorizer=None, seed: int = 13, device: str = "auto",
                      train: datasets.Dataset | None = None,
                      train_embeddings: np.ndarray | None = None) -> dict:
    """Fit the folder's after-training choices on `ds` and record them in the folder.

    Args:
        folder: a saved classifier folder (its settings are rewritten).
        ds: the validation slice, label in column `y`.
        settings: the folder's settings, changed in place.
        vectorizer: stance only: the word TF-IDF fitted on the training part; given, the
            word-overlap combination is fitted and saved (`pairs.json`).
        seed: for the combination's regression.
        train: topic models with a lexical partner: the training part. Given, the lexical
            model is refitted on the part and the slice together, and the weight (and
            thresholds) are chosen with its out-of-fold probabilities
            (`refit_on_training_split`); where a multi-label weight is 1 (the lexical model
            alone), the thresholds are tuned on every training article.
        train_embeddings: the training part's article embeddings, where the lexical model
            reads them and training has computed them already (else the refit computes them).

    Returns:
        What was fitted and the validation figures of each part, for `metrics.json`.
    """
    predictor = ClassifierPredictor.from_pretrained(folder, REFERENCE, device=device)
    labels = predictor.labels
    gold, parts = classifier_parts(predictor, ds)
    report: dict = {"examples": len(gold)}
    if settings.multi_label:
        y = multi_hot(gold, labels)
        blend, words = parts["model"], parts.get("words")
        oof = None
        if words is not None and train is not None:
            oof = refit_on_training_split(predictor, folder, [train, ds], seed, train_embeddings)
            words = torch.from_numpy(oof[len(train):]).float()
            report["lexical_refit_on"] = _refit_note(len(train) + len(ds))
        if words is not None:
            weight, scores = lexical.choose_multilabel_weight(parts["model"], words, y, labels,
                                                              seed, settings.no_label)
            settings.lexical_weight = report["lexical_weight"] = weight
            report["micro_f1_by_weight"] = {str(w): s for w, s in scores.items()}
            blend = lexical.blend(parts["model"], words, weight, settings.blend_space)
        if oof is not None and settings.lexical_weight == 1.0:  # the lexical part alone
            lists = [g for part in (train, ds) for g in part["y"]]
            settings.thresholds, settings.threshold = tune_thresholds(
                torch.from_numpy(oof).float(), multi_hot(lists, labels), labels,
                settings.no_label)
            report["thresholds_on"] = "out-of-fold probabilities of every training article"
        else:
            settings.thresholds, settings.threshold = tune_thresholds(blend, y, labels,
                                                                      settings.no_label)
    else:
        index = np.array([labels.index(g) for g in gold])
        figures = {"model_only": parts["model"].numpy()}
        if "words" in parts:
            figures["words_only"] = parts["words"].numpy()
            oof = None if train is None else refit_on_training_split(
                predictor, folder, [train, ds], seed, train_embeddings)
            if oof is not None:
                figures["words_only"] = oof[len(train):]
                report["lexical_refit_on"] = _refit_note(len(train) + len(ds))
            weight, scores = lexical.choose_weight(figures["model_only"], figures["words_only"],
                                                   index)
            settings.lexical_weight = report["lexical_weight"] = weight
            report["macro_f1_by_weight"] = {str(w): round(s, 4) for w, s in scores.items()}
            figures["blend"] = lexical.blend(figures["model_only"], figures["words_only"], weight)
        elif vectorizer is not None:
            targets, texts = list(ds["target"]), list(ds["text"])
            pairs = PairModel.fit(vectorizer, targets, texts, figures["model_only"], gold, labels,
                                  seed)
            pairs.save(folder)
            settings.lexical = "tfidf"
            figures["blend"] = pairs.predict_proba(targets, texts, figures["model_only"])
            report["blend_crossfit"] = _crossfit_pairs(vectorizer, targets, texts,
                                                       list(ds["group"]), figures["model_only"],
                                                       gold, labels, seed)
            report["offsets"] = dict(zip(labels, np.round(pairs.offsets, 3).tolist()))
        for name, p in figures.items():
            guess = p.argmax(1)
            report[name] = {"accuracy": round(float(accuracy_score(index, guess)), 4),
                            "macro_f1": round(float(f1_score(index, guess, average="macro",
                                                             labels=range(len(labels)))), 4)}
        blend = torch.from_numpy(figures.get("blend", figures["model_only"])).float()
        report["calibration"] = calibration_report(blend, torch.from_numpy(index))
        settings.temperature = report["calibration"]["temperature"]
    settings.fitted_on = "validation"
    write_settings(folder, settings)
    log.info("fitted on the validation slice (%d examples): %s", len(gold),
             {k: v for k, v in report.items() if k != "macro_f1_by_weight"})
    return report


def _refit_note(articles: int) -> str:
    return (f"{articles} training articles (the slice included); the slice's lexical "
            "probabilities out of fold")


def refit_on_training_split(predictor: ClassifierPredictor, folder: str | Path,
                            articles: list[datasets.Dataset], seed: int = 13,
                            known: np.ndarray | None = None) -> np.ndarray | None:
    """Refit the folder's lexical model on `articles` (the training part and the validation
    slice) and return its out-of-fold probabilities over them.

    The slice has done its work once the blend weight and thresholds are chosen on it; holding
    it out further only costs the regressions 15% of their stories (and a baseline trained on
    the whole split, such as `bench_classifiers.py`'s SVM, would read more than they do). The
    out-of-fold probabilities (`LexicalModel.out_of_fold`) come from regressions fitted on
    nearly as many stories as the refitted one, so they stand for its probabilities on new
    stories: the slice's rows choose the weight (and tune a multi-label blend's thresholds;
    where that lexical model decides alone, weight 1, every row tunes them, since about half
    the labels have too few positives on the slice alone). The folder's lexical files are
    rewritten.

    Args:
        known: where the lexical model reads embeddings, those of the first `len(known)`
            articles, already computed (training has them); the rest are computed here.

    Returns:
        (articles, labels) out-of-fold probabilities, in the order of `articles`; None, with
        the folder left as it was, where a single-label model has a label with one article
        (no fold could fit it while holding that article out).
    """
    model = predictor.lexical
    titles = [t for ds in articles for t in ds["title"]]
    bodies = [t for ds in articles for t in ds["text"]]
    texts, lists = article_texts(titles, bodies), [y for ds in articles for y in ds["y"]]
    lonely = single_article_labels(lists, model.multi_label)
    if lonely:
        log.warning("label(s) %s have one training article: the TF-IDF model keeps its fit "
                    "on the training part", lonely)
        return None
    embeddings = None
    if model.reads_embeddings:
        done = 0 if known is None else len(known)
        items = [{"text": t, "title": h} for t, h in zip(bodies[done:], titles[done:])]
        embeddings = predictor.embeddings(predictor.encode(items))
        if known is not None:
            embeddings = np.concatenate([known, embeddings])
    options = {"chars": model.features.chars is not None, "embeddings": embeddings}
    fit = lexical.LexicalModel.fit_multilabel if model.multi_label else lexical.LexicalModel.fit
    refit = fit(texts, lists, model.labels, seed, **options)
    if not model.multi_label:  # the folds reuse the strength picked on every article; a label
        # with fewer articles than folds gets one per fold (at least two folds)
        options.update(c=refit.c, folds=min(5, min(Counter(lists).values())))
    oof = lexical.LexicalModel.out_of_fold(texts, lists, model.labels, seed,
                                           multi_label=model.multi_label, **options)
    refit.save(folder)
    return oof


def single_article_labels(lists: list, multi_label: bool) -> list[str]:
    """The labels of a single-label split with one article: no fold of
    `refit_on_training_split` could fit them while holding that article out, so the lexical
    model is not refitted (a multi-label model always is)."""
    if multi_label:
        return []
    return sorted(k for k, n in Counter(lists).items() if n < 2)


def _crossfit_pairs(vectorizer, targets, texts, groups, model_probs, gold, labels, seed) -> dict:
    """Macro-F1 of the word-overlap combination on each half of the slice's stories when fitted
    on the other half: what the in-slice figure would be on new stories."""
    stories = story_keys(targets, groups, gold)
    order = sorted(set(stories))
    random.Random(seed).shuffle(order)
    half = {story: i % 2 for i, story in enumerate(order)}
    side = np.array([half[story] for story in stories])
    guess = np.zeros(len(gold), dtype=int)
    for k in (0, 1):
        fit, held = np.flatnonzero(side != k), np.flatnonzero(side == k)
        fit_gold = [gold[i] for i in fit]
        if set(fit_gold) != set(labels) or not len(held):
            return {}
        model = PairModel.fit(vectorizer, [targets[i] for i in fit], [texts[i] for i in fit],
                              model_probs[fit], fit_gold, labels, seed)
        guess[held] = model.predict_proba([targets[i] for i in held], [texts[i] for i in held],
                                          model_probs[held]).argmax(1)
    index = np.array([labels.index(g) for g in gold])
    return {"macro_f1": round(float(f1_score(index, guess, average="macro",
                                             labels=range(len(labels)))), 4)}
