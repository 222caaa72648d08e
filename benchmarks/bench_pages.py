"""Summaries of real web pages: does every summary sentence come from the article body?

For each page in ../shared/data/web/pages, the page goes through `NewsAnalyzer` as users send it
(an `html` record) with a summary model (and a topic model, if given). The summary's sentences are
the sentences of the text the model read (`extract_article`'s) that the summary holds; one "comes
from the body" when its words (`\\w+`, case-folded) appear contiguously in the reference
`articleBody`. A page passes when all its summary sentences do. The same is run on trafilatura's
plain output (defaults, as a user calling `trafilatura.extract` gets) for comparison.

Then the Euronews page as a scraper saved it (`web/euronews-putin-orban.txt`): its summary with
and without the furniture rules, checked against the furniture lines quoted in the issue.

    python benchmarks/bench_pages.py --summary runs/summary-bbc --topic runs/topic-bbc
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import trafilatura
from header import print_header

from newsdesk.data.pages import extract_article, extractor_name
from newsdesk.data.sentences import split_sentences
from newsdesk.inference import NewsAnalyzer

WORD = re.compile(r"\w+")
FURNITURE = ("Copyright", "By Euronews with AP", "Share this article", "Close Button",
             "Copy/paste", "Copy to clipboard", "ADVERTISEMENT", "You might also like",
             "Oleg Orlov", "Crocus City Hall", "behind Moscow attack")


def words(text: str) -> str:
    return " " + " ".join(w.casefold() for w in WORD.findall(text)) + " "


def outside(summary: str, read: str, body: str) -> list[str]:
    """The summary's sentences (those of the text the model `read` that the summary holds)
    whose words do not appear contiguously in the reference body."""
    flat = words(body)
    chosen = [s for s in split_sentences(read) if s in summary]
    return [s for s in chosen if WORD.search(s) and words(s) not in flat]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summary", required=True, help="summary model folder")
    p.add_argument("--topic", help="topic model folder (prints the Euronews topic)")
    p.add_argument("--web", default="../shared/data/web", help="folder with pages/, truth/")
    args = p.parse_args()
    web = Path(args.web)
    print_header("extractor: " + extractor_name())
    analyzer = NewsAnalyzer.from_pretrained(summary=args.summary, topic=args.topic,
                                            precision="fp32")
    plain = NewsAnalyzer(summary=analyzer.summary, clean=False)
    pages = sorted((web / "pages").glob("*.html"))
    truths = [json.loads((web / "truth" / f"{page.stem}.json").read_text()) for page in pages]
    read_ours = [extract_article(page.read_bytes(), t["url"])["text"]
                 for page, t in zip(pages, truths)]
    read_plain = [trafilatura.extract(page.read_bytes(), url=t["url"]) or "(nothing extracted)"
                  for page, t in zip(pages, truths)]
    ours = analyzer.analyze([{"id": page.stem, "html": page.read_bytes(), "url": t["url"]}
                             for page, t in zip(pages, truths)])
    baseline = plain.analyze([{"id": page.stem, "text": text}
                              for page, text in zip(pages, read_plain)])
    print(f"\n{len(pages)} pages: summaries whose every sentence is in the reference body")
    for name, results, read in (("newsdesk (extract_article + furniture rules)", ours, read_ours),
                                ("trafilatura.extract defaults, no rules", baseline, read_plain)):
        bad = {r["id"]: outside(r["summary"], text, t["articleBody"])
               for r, text, t in zip(results, read, truths)}
        bad = {k: v for k, v in bad.items() if v}
        share = 1 - len(bad) / len(pages)
        print(f"- {name}: {len(pages) - len(bad)}/{len(pages)} pages ({share:.1%})")
        for ident, sentences in bad.items():
            print(f"    {ident[:10]}: " + " | ".join(s[:90] for s in sentences))

    raw = (web / "euronews-putin-orban.txt").read_text()
    title, _, body = raw.partition("\n")
    print("\nEuronews page as scraped (title on the first line):")
    for name, run in (("with the furniture rules", analyzer),
                      ("without (--keep-furniture)", NewsAnalyzer(summary=analyzer.summary,
                                                                  topic=analyzer.topic,
                                                                  clean=False))):
        r = run.analyze({"title": title, "text": body})
        found = [f for f in FURNITURE if f in r["summary"]]
        topic = r.get("topic")
        print(f"- {name}: furniture in summary: {found or 'none'}"
              + (f"; topic {topic['label']} {max(topic['scores'].values()):.2f}" if topic else ""))
        print(f"    summary: {r['summary']}")


if __name__ == "__main__":
    main()
