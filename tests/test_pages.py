"""Web pages and scraped text: extraction, page-furniture rules, calibrated confidence, abstaining."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from newsdesk.cli import main
from newsdesk.data import builders
from newsdesk.data.furniture import LINE_RULES, RULE_NAMES, clean_page_text
from newsdesk.data.pages import extract_article
from newsdesk.data.prepare import prepare
from newsdesk.data.sentences import split_sentences
from newsdesk.errors import DataError
from newsdesk.inference import NewsAnalyzer
from newsdesk.inference.analyzer import as_article
from newsdesk.inference.job import run_job
from newsdesk.models.confidence import (
    abstention,
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    scale,
)

from conftest import SHARED_DATA

BODY = [
    "The central bank raised interest rates by half a point on Tuesday, its third rise this year.",
    "Economists had expected a smaller move after inflation slowed in the spring months.",
    "The governor said the bank would act again if prices kept rising faster than wages.",
    "Markets fell sharply after the announcement, and the currency rose against the dollar.",
]


def page(body: list[str] = BODY, title: str = "Bank raises rates again") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return f"""<!doctype html><html><head><title>{title} | Daily Paper</title>
<meta property="og:title" content="{title}">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2024-03-05T10:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/business">Business</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
<article><h1>{title}</h1><p>By Jane Reporter with Reuters</p>{paragraphs}
<p>Share this article</p><p>ADVERTISEMENT</p></article>
<aside><h3>Most read</h3><ul><li><a href="/a">Storm closes schools</a></li>
<li><a href="/b">Team wins the cup</a></li></ul></aside>
<footer>Copyright 2024 Daily Paper. All rights reserved.</footer></body></html>"""


# --- extraction ------------------------------------------------------------------------------

def test_extract_article_takes_title_text_date_and_author_and_drops_furniture():
    article = extract_article(page())
    assert article["title"] == "Bank raises rates again"
    assert article["date"] == "2024-03-05"
    assert article["author"] and "Jane Reporter" in article["author"]
    assert article["extractor"].startswith("trafilatura ")
    lines = article["text"].split("\n")
    assert all(p in lines for p in BODY)  # every paragraph, each on its own line
    for furniture in ("Share this", "ADVERTISEMENT", "cookies", "Storm closes", "Copyright", "By Jane"):
        assert furniture not in article["text"]
    assert set(article["cleaning"]) <= set(RULE_NAMES)


def test_a_hover_card_inside_a_paragraph_is_left_out_but_the_name_link_stays():
    card = ('The governor, <span class="person"><a href="/p/jo">Jo Smith</a><span class="card">'
            '<span><img src="/jo.jpg"><a href="/p/jo">Joanna Q. Smith</a>'
            '<a href="/s/1">Smith opens the new bridge</a> <a href="/s/2">Smith on taxes</a>'
            '</span></span></span>, said the bank would act again if prices kept rising.')
    inline = ('Shares rose, as <a href="/a">one analyst</a> and <a href="/b">another</a> said in '
              'a note with a chart <img src="/chart.png"> attached to the report.')
    article = extract_article(page([card, *BODY[1:], inline]))
    assert ("The governor, Jo Smith, said the bank would act again if prices kept rising."
            in article["text"].split("\n"))
    for text in ("Joanna", "bridge", "taxes"):
        assert text not in article["text"]
    assert "one analyst and another said in a note" in article["text"]  # no card: kept


@pytest.mark.parametrize("html, problem", [
    ("", "empty 'html'"),
    ("<html><head><title>T</title></head><body><div></div></body></html>", "no article text"),
    (42, "should be text"),
])
def test_extract_article_names_the_record_and_the_problem(html, problem):
    with pytest.raises(DataError, match=f"pages/x.html: .*{problem}"):
        extract_article(html, where="pages/x.html: ")


# --- cleaning rules, one by one --------------------------------------------------------------

RULE_EXAMPLES = {
    "share_prompt": ["Share this articleComments", "Share this articleClose Button",
                     "Copy/paste the article video embed link below:Copy to clipboardCopied",
                     "Follow us on Twitter"],
    "advertisement": ["ADVERTISEMENT", "Story continues below advertisement"],
    "cookie_prompt": ["We use cookies to give you the best experience.", "Accept all cookies"],
    "newsletter": ["Pick Six Newsletter", "Sign up for our morning briefing",
                   "Thanks for signing up!", "There was an error processing your subscription."],
    "affiliate_disclosure": ["If you buy something through this post, IGN may get a share of "
                             "the sale. For more, learn more."],
    "credit": ["Copyright Yuri Kochetkov/Pool via AP", "Photo: Getty Images",
               "© 2019 The Associated Press. All rights reserved."],
    "byline": ["By Euronews with AP", "By Jane Smith and John Doe, Reuters"],
    "reporting_credit": ["(Reporting by Ivan Castro; Editing by Eric Walsh)",
                         "(Reporting by Greg Roumeliotis, Joshua Franklin, Koh Gui Qing, with "
                         "reporting by Herb Lash and Megan Davies, editing by Martin Howell.)"],
    "reading_time": ["5 min read", "Reading time: 3 minutes"],
    "filed_under": ["Filed under: Politics |", "Tags: economy, rates"],
    "related_link": ["Read more: Bank holds rates", "[Related: Salesforce keynote]"],
    "contact_prompt": ["The Times is committed to publishing a diversity of letters to the editor. "
                       "We'd like to hear what you think about this or any of our articles. Here "
                       "are some tips. And here's our email: letters@nytimes.com."],
}

KEPT = [  # reporting that mentions the same words must stay
    "By contrast, sales fell in the second quarter.",
    "Copyright law is changing, the minister said.",
    "Twitter shares fell 5% on Monday.",
    "Shares in the bank rose after the advertisement campaign launched.",
    "Websites must now ask users before they accept cookies, regulators said.",
    "Sorry, we cannot comment on that, the spokesman said.",
    "If you buy something online this week, prices may be higher, the retailer said.",
    "The newsletter business is growing fast as readers pay for email.",
    "The hackers sent emails to staff at jane@example.com asking for passwords, police said.",
]


def test_every_line_rule_has_examples():
    assert set(RULE_EXAMPLES) == {r.name for r in LINE_RULES}


@pytest.mark.parametrize("rule, line", [(r, x) for r, xs in RULE_EXAMPLES.items() for x in xs])
def test_each_rule_removes_its_furniture_and_counts_it(rule, line):
    text, counts = clean_page_text(f"{BODY[0]}\n{line}\n{BODY[1]}")
    assert text == f"{BODY[0]}\n{BODY[1]}"
    assert counts == {rule: 1}


@pytest.mark.parametrize("line", KEPT)
def test_reporting_that_mentions_furniture_words_is_kept(line):
    assert clean_page_text(f"{BODY[0]}\n{line}") == (f"{BODY[0]}\n{line}", {})


def test_a_credit_glued_to_a_caption_is_cut_and_the_repeated_caption_dropped():
    caption = "Russian President Vladimir Putin during a joint news conference in Moscow on 1 February"
    text, counts = clean_page_text(f"{caption}\n{caption} Copyright Yuri Kochetkov/Pool via AP\n"
                                   f"{BODY[0]}")
    assert text == f"{caption}\n{BODY[0]}"
    assert counts == {"credit_suffix": 1, "repeated_line": 1}


def test_repeated_lines_long_anywhere_short_only_when_adjacent():
    short = "Winners meet in final match"
    text, counts = clean_page_text(f"{BODY[0]}\n{short}\n{BODY[1]}\n{short}\n{BODY[0]}")
    assert text == f"{BODY[0]}\n{short}\n{BODY[1]}\n{short}"  # the fixture line stays twice
    assert counts == {"repeated_line": 1}
    assert clean_page_text(f"{short}\n{short}")[1] == {"repeated_line": 1}


def test_a_first_line_repeating_the_title_is_dropped():
    assert clean_page_text(f"Bank raises rates\n{BODY[0]}", "Bank  raises rates") == (
        BODY[0], {"title_repeat": 1})


def test_a_related_stories_list_at_the_end_is_dropped_but_not_a_heading_followed_by_reporting():
    related = "You might also like\nStorm closes schools\nTeam wins the cup"
    assert clean_page_text(f"{BODY[0]}\n{related}") == (BODY[0], {"related_list": 3})
    text = f"{BODY[0]}\nRelated\n{BODY[1]}"
    assert clean_page_text(text) == (text, {})


def test_text_before_a_later_title_line_is_a_teaser():
    title = "Bank raises rates again"
    text = f"Other story teaser here.\n{title}\n{BODY[0]}\n{BODY[1]}"
    assert clean_page_text(text, title) == (f"{BODY[0]}\n{BODY[1]}", {"before_title": 2})
    long_intro = f"{BODY[0]}\n{BODY[1]}\n{BODY[2]}\n{title}\nShort end."
    assert clean_page_text(long_intro, title) == (long_intro, {})  # more before than after


def test_lines_are_paragraphs_for_the_sentence_splitter():
    text = "Putin says US ignored demands\nBy Euronews with AP\nHe spoke on Tuesday. NATO replied."
    assert split_sentences(text) == ["Putin says US ignored demands", "By Euronews with AP",
                                     "He spoke on Tuesday.", "NATO replied."]


# --- the text path: inference and training alike --------------------------------------------

def test_analyzer_cleans_text_and_counts_every_rule(tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], precision="fp32")
    scraped = f"ADVERTISEMENT\n{BODY[0]}\nShare this article\n{BODY[1]}"
    result = analyzer.analyze({"id": 1, "text": scraped})
    assert result["cleaning"] == {**dict.fromkeys(RULE_NAMES, 0), "advertisement": 1,
                                  "share_prompt": 1}
    kept = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], precision="fp32", clean=False)
    assert sum(kept.analyze(scraped)["cleaning"].values()) == 0
    assert as_article(scraped)["text"] == f"{BODY[0]}\n{BODY[1]}"


def test_text_that_is_only_furniture_is_a_clear_error():
    with pytest.raises(DataError, match="article 3: 'text' holds only page furniture"):
        as_article("Share this article\nADVERTISEMENT", "article 3: ")


def test_analyze_job_reads_a_folder_of_pages(tiny_models, tmp_path):
    pages = tmp_path / "pages"
    (pages / "world").mkdir(parents=True)
    (pages / "a.html").write_text(page())
    (pages / "world" / "b.htm").write_text(page(BODY[::-1], "Rates rise"))
    (pages / "empty.html").write_text("<html><head><title>T</title></head><body></body></html>")
    (pages / "notes.txt").write_text("not a page")
    out = tmp_path / "out.jsonl"
    code = main(["analyze", str(pages), "--topic", str(tiny_models["topic"]), "--out", str(out),
                 "--precision", "fp32"])
    assert code == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a.html", "world/b.htm"]
    assert rows[0]["page"]["title"] == "Bank raises rates again"
    assert rows[0]["page"]["extractor"].startswith("trafilatura")
    assert rows[0]["cleaning"]["advertisement"] == 1
    errors = [json.loads(x) for x in (tmp_path / "out.jsonl.errors.jsonl").read_text().splitlines()]
    assert errors == [{"position": 2, "where": str(pages / "empty.html"),
                       "error": "no article text found in the page", "id": "empty.html"}]


def test_analyze_reads_an_html_column_and_writes_parquet(tiny_models, tmp_path):
    import pyarrow.parquet as pq

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "p1", "html": page(), "url": "https://example.com/a"}) + "\n"
                   + json.dumps({"id": "t1", "text": BODY[0]}) + "\n")
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], precision="fp32")
    run_job(analyzer, src, tmp_path / "out.parquet", progress_bar=False)
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["p1", "t1"]
    assert rows[0]["page"]["date"] == "2024-03-05" and rows[1]["page"] is None


def test_prepare_table_extracts_html_and_counts_furniture(tmp_path):
    src = tmp_path / "pages.jsonl"
    rows = [{"id": f"p{i}", "html": page([f"Story number {i} says the bank moved rates today.",
                                          *BODY]), "topic": "business" if i % 2 else "politics"}
            for i in range(12)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = prepare("table", src, tmp_path / "out", dev=0.25)
    assert manifest["cleaning"]["extracted_pages"] == 12
    assert manifest["cleaning"]["furniture_lines"]["advertisement"] == 12  # one per page
    train = [json.loads(x) for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert all(r["title"] == "Bank raises rates again" and "Share this" not in r["text"]
               for r in train)


def test_prepare_keep_furniture_keeps_the_text(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text("".join(json.dumps({"text": f"Story {i} is here.\nADVERTISEMENT",
                                       "topic": "a" if i % 2 else "b"}) + "\n" for i in range(12)))
    kept = builders.table(src, clean=False)
    cleaned = builders.table(src)
    assert all(t.endswith("ADVERTISEMENT") for t in kept["text"])
    assert not any("ADVERTISEMENT" in t for t in cleaned["text"])


# --- confidence: temperature scaling and abstaining ------------------------------------------

def test_fit_temperature_recovers_a_known_temperature():
    torch.manual_seed(0)
    logits = torch.randn(20000, 4) * 2
    gold = torch.distributions.Categorical(logits=logits).sample()  # calibrated at T = 1
    overconfident = (logits * 2.5).softmax(-1)  # the model reports logits 2.5x too sharp
    assert fit_temperature(overconfident, gold) == pytest.approx(2.5, rel=0.05)
    report = calibration_report(overconfident, gold)
    assert report["ece_after"] < 0.02 < report["ece_before"]
    assert report["ece_after_crossfit"] < 0.02


def test_a_temperature_that_raises_the_ece_is_not_applied(monkeypatch):
    from newsdesk.models import confidence

    torch.manual_seed(1)
    logits = torch.randn(4000, 3) * 2
    gold = torch.distributions.Categorical(logits=logits).sample()  # calibrated as it is
    monkeypatch.setattr(confidence, "fit_temperature", lambda probs, gold: 4.0)  # a bad fit
    report = confidence.calibration_report(logits.softmax(-1), gold)
    assert report["ece_after"] > report["ece_before"]
    assert report["fitted_temperature"] == 4.0 and report["temperature"] == 1.0


def test_no_temperature_is_fitted_on_a_split_with_too_few_mistakes():
    from newsdesk.models import confidence
    from newsdesk.training.metrics import describe_calibration

    gold = torch.arange(300) % 3
    probs = torch.full((300, 3), 0.2)
    probs[torch.arange(300), gold] = 0.6  # right every time, under-confident
    report = confidence.calibration_report(probs, gold)
    assert report["errors"] == 0 and report["fitted_temperature"] < 0.2  # the fit says "certain"
    assert report["temperature"] == 1.0  # and is not believed
    assert "too few to fit on" in describe_calibration(report)


def test_scaling_never_changes_the_label_and_keeps_rows_summing_to_one():
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    for t in (0.3, 1.0, 4.0):
        scaled = scale(probs, t)
        assert scaled.argmax(-1).tolist() == [0, 2]
        assert scaled.sum(-1).tolist() == pytest.approx([1.0, 1.0])
    assert scale(probs, 0.5)[0].tolist() == pytest.approx([25 / 38, 9 / 38, 4 / 38])


def test_expected_calibration_error_by_hand():
    # two bins: confidence 0.9 (2 right of 2) and 0.6 (1 right of 2): |1-0.9|/2 + |0.5-0.6|/2
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    gold = torch.tensor([0, 0, 0, 0])
    assert expected_calibration_error(probs, gold) == pytest.approx(0.1)


def test_abstention_returns_no_label_with_the_top_candidates():
    scores = {"business": 0.45, "politics": 0.41, "tech": 0.1, "sport": 0.04}
    assert abstention(scores, 0.5) == {"label": None, "abstained": True, "candidates": [
        ["business", 0.45], ["politics", 0.41], ["tech", 0.1]]}
    assert abstention(scores, 0.4) is None and abstention(scores, 0.0) is None


def test_predictor_abstains_below_the_threshold_and_applies_the_temperature(tiny_models):
    from newsdesk.inference import ClassifierPredictor

    text = " ".join(BODY)
    plain = ClassifierPredictor.from_pretrained(tiny_models["topic"], precision="fp32")
    top = max(plain.predict(text)["scores"].values())
    unsure = ClassifierPredictor.from_pretrained(tiny_models["topic"], precision="fp32",
                                                 abstain_below=min(1.0, top + 0.01))
    out = unsure.predict(text)
    assert out["label"] is None and out["abstained"] and len(out["candidates"]) == 3
    sharp = ClassifierPredictor.from_pretrained(tiny_models["topic"], precision="fp32")
    sharp.settings.temperature = 0.25
    assert max(sharp.predict(text)["scores"].values()) > top
    assert math.isclose(sum(sharp.predict(text)["scores"].values()), 1.0, abs_tol=1e-4)


def test_abstain_below_is_checked():
    from newsdesk.inference import InferenceOptions

    with pytest.raises(Exception, match=r"abstain_below must be in \[0, 1\]"):
        InferenceOptions(abstain_below=1.5)


# --- the real corpora and pages --------------------------------------------------------------

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                reason=f"real corpora not found at {SHARED_DATA}")


@needs_data
def test_the_euronews_page_loses_every_furniture_line():
    raw = (SHARED_DATA / "web" / "euronews-putin-orban.txt").read_text()
    title, _, body = raw.partition("\n")
    text, counts = clean_page_text(body, title)
    for furniture in ("Copyright", "By Euronews", "Share this article", "Copy/paste",
                      "ADVERTISEMENT", "You might also like", "Oleg Orlov", "Crocus City Hall",
                      "Moscow attack"):
        assert furniture not in text
    assert text.count("during a joint news conference") == 1  # the caption, once
    assert "Orban argues against sanctions" in text and counts["related_list"] == 4


@needs_data
def test_cleaning_changes_nothing_on_bbc_and_only_removes_lines_from_fnc1():
    bbc = builders.bbc_news_summary(SHARED_DATA / "bbc-news-summary")
    assert bbc["text"] == builders.bbc_news_summary(SHARED_DATA / "bbc-news-summary",
                                                    clean=False)["text"]
    cleaned = builders.fnc1(SHARED_DATA / "fnc-1")
    raw = builders.fnc1(SHARED_DATA / "fnc-1", clean=False)
    assert cleaned["id"] == raw["id"] and cleaned["label"] == raw["label"]
    for new, old in zip(cleaned["text"], raw["text"]):
        if new != old:  # lines only removed (or a trailing credit cut), never reordered
            old_lines = iter(old.split("\n"))
            assert all(any(o.startswith(line) for o in old_lines) for line in new.split("\n"))


@needs_data
def test_extraction_on_the_real_pages_beats_plain_trafilatura():
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    import trafilatura
    from bench_extraction import newsdesk_text, score

    web = SHARED_DATA / "web"
    pages = sorted((web / "pages").glob("*.html"))
    truths = [json.loads((web / "truth" / f"{p.stem}.json").read_text()) for p in pages]
    ours = score([(newsdesk_text(p.read_bytes(), t["url"]), t["articleBody"])
                  for p, t in zip(pages, truths)])
    plain = score([(trafilatura.extract(p.read_bytes(), url=t["url"]) or "", t["articleBody"])
                   for p, t in zip(pages, truths)])
    assert ours["f1"] > plain["f1"]
