"""Reuters-21578 multi-label topics: a newsdesk model beside a TF-IDF one-vs-rest linear SVM.

Both on the same prepared split (`newsdesk data prepare reuters`: the dev part carved from the
ModApte train part, exact-duplicate texts dropped so none sits on both sides). The SVM is the
field's classic baseline (Joachims 1998; Yang & Liu 1999: micro-F1 0.860 / macro-F1 0.525 on the
ModApte test split): TF-IDF of words and word pairs, sublinear tf, one linear SVM per category.
Macro-F1 averages over the categories present in dev. The model's figures are printed with the
folder's thresholds (tuned on a validation slice of train with `validation`, honest; on dev
without, flattering), and cross-fitted (each half of dev scored with
thresholds tuned on the other half), with the transformer and the TF-IDF part alone, and the
time newsdesk takes to predict dev with its defaults (the first call calibrates unless this
machine has a decision for the folder, the second reads it) and in fp32,
and how many of the defaults' label lists equal fp32's.

    python benchmarks/bench_reuters.py --model runs/topics-reuters --data data/reuters
"""

from __future__ import annotations

import argparse
import time

from header import print_header
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from newsdesk.data.prepare import load_prepared
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.models.folder import read_settings
from newsdesk.models.inputs import article_texts
from newsdesk.models.multilabel import multi_hot, names_of
from newsdesk.training.evaluation import evaluate_classifier
from newsdesk.training.metrics import MULTI_LABEL_METRICS, multilabel_metrics


def svm_baseline(train, dev, labels: list[str], c: float = 1.0) -> dict:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform(article_texts(train["title"], train["text"]))
    y = multi_hot(list(train["topics"]), labels).int().numpy()
    svm = OneVsRestClassifier(LinearSVC(C=c), n_jobs=-1).fit(x, y)
    guess = svm.predict(vectorizer.transform(article_texts(dev["title"], dev["text"])))
    return multilabel_metrics(list(dev["topics"]), names_of(guess, labels), labels)


def row(name: str, m: dict) -> str:
    return f"| {name} | " + " | ".join(f"{m[k]:.4f}" for k in MULTI_LABEL_METRICS) + " |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a multi-label topic folder (omit for the baseline alone)")
    p.add_argument("--data", default="data/reuters", help="prepared Reuters folder")
    args = p.parse_args()
    print_header()
    train, dev = load_prepared(args.data, "train"), load_prepared(args.data, "dev")
    labels = sorted({lab for t in train["topics"] for lab in t})
    print(f"train {len(train)}, dev {len(dev)} stories; {len(labels)} categories in train, "
          f"{len({lab for t in dev['topics'] for lab in t})} in dev")
    print("\n| system (dev) | micro-F1 | macro-F1 | subset accuracy |\n|---|---|---|---|")
    started = time.perf_counter()
    print(row("TF-IDF + one-vs-rest linear SVM (C=1)", svm_baseline(train, dev, labels)))
    print(f"  (SVM fit and predict: {time.perf_counter() - started:.1f} s)")
    if not args.model:
        return
    ds = dev.rename_column("topics", "y")
    m = evaluate_classifier(args.model, ds, device="cpu")
    fitted_on = read_settings(args.model).fitted_on
    where = "train, a validation slice or out of fold: honest" if fitted_on == "validation" \
        else "this dev split: flattering"
    print(row(f"newsdesk, folder thresholds (tuned on {where})", m))
    print(row("newsdesk, thresholds cross-fitted on dev halves", m["crossfit"]))
    for part, name in (("model_only", "transformer alone"), ("words_only", "TF-IDF part alone")):
        if part in m:
            print(row(f"  {name}, cross-fitted", m[part]))
    print(row("newsdesk at threshold 0.5 for every label", m["at_threshold_0.5"]))
    got = {}
    for precision, call in (("auto", "first call"), ("auto", "second call"), ("fp32", "")):
        predictor = ClassifierPredictor.from_pretrained(args.model, device="cpu",
                                                        precision=precision)
        if predictor.pending:  # no decision for this folder on this machine yet
            call += ", calibration included"
        started = time.perf_counter()
        got[precision] = predictor.predict(list(dev["text"]), titles=list(dev["title"]))
        print(f"  (newsdesk predicting dev, precision {precision}{', ' + call if call else ''}: "
              f"{time.perf_counter() - started:.1f} s, engine {predictor.engine})")
    same = sum(a["labels"] == b["labels"] for a, b in zip(got["auto"], got["fp32"]))
    print(f"  (defaults' label lists equal to fp32's: {same} of {len(dev)})")


if __name__ == "__main__":
    main()
