"""Article extraction from real pages: newsdesk's `extract_article` against plain trafilatura.

Scored as the article-extraction benchmark scores (../shared/data/web/README.md): words are
`\\w+` runs; per page, matching 4-word sequences between the extracted text and the reference
`articleBody` give precision and recall (counted with multiplicity); precision and recall are
averaged over pages and F1 is taken from the averages. A page with nothing extracted scores 0.

Prints plain trafilatura with its default settings (what a user who calls `trafilatura.extract`
gets), trafilatura with newsdesk's settings but no furniture rules, and `extract_article`, all in
one run on the same pages, then each page's figures.

    python benchmarks/bench_extraction.py --pages ../shared/data/web
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura
from header import print_header

from newsdesk.data.pages import EXTRACTION, extract_article, extractor_name
from newsdesk.errors import DataError

WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    words = WORD.findall(text or "")
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def precision_recall(extracted: str, reference: str) -> tuple[float, float]:
    """Per-page precision and recall of 4-word sequences; both 1 when both texts are empty."""
    got, want = shingles(extracted), shingles(reference)
    tp = sum((got & want).values())
    fp, fn = sum((got - want).values()), sum((want - got).values())
    if fp == fn == 0:
        return 1.0, 1.0
    if tp == 0:
        return 0.0, 0.0
    return tp / (tp + fp), tp / (tp + fn)


def score(pairs: list[tuple[str, str]]) -> dict:
    per_page = [precision_recall(got, want) for got, want in pairs]
    p = statistics.mean(x for x, _ in per_page)
    r = statistics.mean(y for _, y in per_page)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "pages": per_page}


def newsdesk_text(html: bytes, url: str) -> str:
    try:
        return extract_article(html, url)["text"]
    except DataError:
        return ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", default="../shared/data/web", help="folder with pages/ and truth/")
    args = p.parse_args()
    root = Path(args.pages)
    pages = sorted((root / "pages").glob("*.html"))
    if not pages:
        sys.exit(f"{root}/pages: no .html pages")
    print_header("extractor: " + extractor_name())
    truths = [json.loads((root / "truth" / f"{page.stem}.json").read_text()) for page in pages]
    htmls = [page.read_bytes() for page in pages]
    paths = {
        "trafilatura (defaults)": lambda h, u: trafilatura.extract(h, url=u) or "",
        "trafilatura (newsdesk settings)": lambda h, u: trafilatura.extract(h, url=u, **EXTRACTION)
        or "",
        "newsdesk extract_article": newsdesk_text,
    }
    results = {}
    print(f"\n{len(pages)} pages\n| path | precision | recall | F1 | seconds |\n|---|---|---|---|---|")
    for name, run in paths.items():
        started = time.perf_counter()
        texts = [run(h, t["url"]) for h, t in zip(htmls, truths)]
        seconds = time.perf_counter() - started
        results[name] = score([(got, t["articleBody"]) for got, t in zip(texts, truths)])
        r = results[name]
        print(f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
              f"{seconds:.1f} |")
    print("\nper page (precision/recall): " + " | ".join(paths))
    for i, (page, truth) in enumerate(zip(pages, truths)):
        cells = "  ".join(f"{results[n]['pages'][i][0]:.3f}/{results[n]['pages'][i][1]:.3f}"
                          for n in paths)
        print(f"{page.stem[:10]}  {truth['url'][:50]:50}  {cells}")


if __name__ == "__main__":
    main()
