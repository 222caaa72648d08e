"""Page furniture: the lines a web page wraps around an article, and the rules that remove them.

Scraped text (and text extracted from HTML) carries share and embed prompts, "ADVERTISEMENT",
photo credits, bylines, newsletter prompts and a list of related stories at the end. Each rule
below names one kind; `clean_page_text` applies them all, line by line, and counts what each rule
removed, so nothing is dropped without a record. Lines are the unit: a line break is a paragraph
boundary, and sentences never span one.

Line rules only match short lines (at most `SHORT_LINE` words; the contact-footer rule, whose
pattern needs an email address beside an invitation to write, up to 60): a furniture line is a
prompt or a credit, never a paragraph of reporting, so a long line that merely mentions "share"
or "newsletter" is kept.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SHORT_LINE = 16
"""Words in the longest line a line rule may remove."""


@dataclass(frozen=True)
class Rule:
    """A kind of furniture line: its name (the counter's key) and what it matches."""

    name: str
    pattern: re.Pattern
    about: str
    longest: int = SHORT_LINE
    """Words in the longest line the rule may remove."""


def _rule(name: str, pattern: str, about: str, longest: int = SHORT_LINE) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE), about, longest)


LINE_RULES = (
    _rule("share_prompt",
          r"^(?:(?:share(?: (?:this|the)(?: article| story| page)?)?|share on \w+|close button"
          r"|copy/paste the article.*|copy (?:link|to clipboard)|link copied|copied"
          r"|tweet(?: this)?|email(?: this)?|print(?: this)?(?: article)?|(?:\d+ )?comments?"
          r"|leave a comment|whatsapp|facebook|twitter|linkedin|pinterest|reddit"
          r"|follow (?:us|.+) on (?:facebook|twitter|instagram|x|linkedin).*)[\s\W]*)+$",
          "share, embed, print and comment prompts (also glued together); follow-us lines"),
    _rule("advertisement",
          r"^\W*(?:advertisement|advertising|advert|ad|sponsored(?: content)?"
          r"|(?:the )?story continues below(?: (?:this )?advertisement)?"
          r"|continue reading(?: (?:the )?(?:main )?story)?(?: below)?"
          r"|scroll to continue(?: with content)?|paid (?:content|post))\W*$",
          "advertisement markers and continue-reading prompts"),
    _rule("cookie_prompt",
          r"^(?:we use cookies|this (?:web)?site uses cookies|by (?:using|continuing)\b.*\bcookies"
          r"|(?:accept|allow|reject|manage)(?: all)? cookies\W*$|cookie (?:policy|settings|"
          r"preferences)\W*$)",
          "cookie consent prompts"),
    _rule("newsletter",
          r"^(?:.*\bnewsletters?\W*$|(?:sign up|subscribe)\b.*|get (?:our|the) .*"
          r"\b(?:newsletter|inbox|email)\b.*|thanks? (?:you )?for (?:signing up|subscribing).*"
          r"|keep an eye on your inbox.*|.*\berror processing your subscription.*|sorry!?)$",
          "newsletter and subscription prompts, and the sign-up box's messages"),
    _rule("affiliate_disclosure",
          r"(?:if you (?:buy|purchase) (?:something|anything|a product)|when you buy through)"
          r".*\b(?:may|might|could) (?:get|earn|receive)\b",
          "affiliate disclosures: 'If you buy something through this post, X may get a share'",
          longest=40),
    _rule("credit",
          r"^\W*(?:(?:copyright\b|©|\(c\) )(?:(?!.*[.!?][\"'”’)]*$)|.*all rights reserved)"
          r"|(?:photo|image|picture|video|graphic)s?"
          r"(?: credit)?\s*:|credit\s*:|(?:source|images?)\s*:\s*(?:getty|ap|afp|reuters|epa)"
          r"|getty images\W*$)",
          "copyright and photo-credit lines"),
    _rule("byline",
          r"^by\s+[\w'’.-]+(?:\s+[\w'’.-]+){0,5}(?:\s*(?:,|and|with|&)\s*[\w'’.-]+"
          r"(?:\s+[\w'’.-]+){0,4})*(?<![.!?])$",
          "bylines: 'By X', 'By X with Y', 'By X and Y, Agency'"),
    _rule("reporting_credit",
          r"^\((?:additional )?(?:reporting|writing|editing) by .*\)\W*$",
          "agency credits: '(Reporting by X; editing by Y)'", longest=40),
    _rule("reading_time",
          r"^(?:\d+\s*(?:-\s*)?min(?:ute)?s?\.?(?: read| reading time)|reading time\s*:.*"
          r"|read time\s*:.*)\W*$",
          "reading-time labels"),
    _rule("filed_under",
          r"^(?:filed under|tags?|topics?|categories|category|posted in)\s*:.*$",
          "tag and category lines"),
    _rule("contact_prompt",
          r"^(?=.*\b[\w.+-]+@[\w-]+\.[\w.]+\b)(?=.*(?:we'?d (?:like|love) to hear|let us know"
          r"|send (?:us|your)|contact us|email us|write to us|here'?s our email|tips?\b))",
          "newsroom contact footers: an email address with 'send us', 'we'd like to hear', ...",
          longest=60),
    _rule("related_link",
          r"^\W*(?:related|read more|read also|also read|see also|more)\s*:.*$",
          "single related-story links: 'Read more: ...', '[Related: ...]'"),
)

CREDIT_SUFFIX = re.compile(
    r"\s+(?:copyright|©|photo\s*:|image\s*:|credit\s*:)\s+[^.!?]{1,80}$", re.IGNORECASE)
"""A credit glued to the end of a caption: "... on 1 February Copyright Yuri Kochetkov/Pool"."""

RELATED_HEADING = re.compile(
    r"^\W*(?:you (?:might|may) also like|related(?: (?:stories|articles|content|coverage|news|"
    r"posts|links|topics))?|more (?:stories|news|from [\w .'’-]+|on this (?:story|topic))"
    r"|read (?:more|next)|most (?:read|popular|viewed)|recommended(?: for you)?"
    r"|trending(?: now)?|also read|what to read next|top stories|latest news)\W*$",
    re.IGNORECASE)
"""The heading of a related-stories list."""

REPEAT_WORDS = 12
"""A line repeated anywhere earlier is dropped from this many words up (a caption or paragraph
the page printed twice); a shorter line only when it repeats the line just before it, since
short lines repeat legitimately (a fixture list's "Winners meet in final match", the signature
line under each embedded tweet)."""

RELATED_ITEM_WORDS = 20
"""A related-stories list holds only headlines: lines of at most this many words that do not
end like a sentence."""

RULE_NAMES = ("credit_suffix", "title_repeat", "repeated_line",
              *(r.name for r in LINE_RULES), "related_list", "before_title")
"""Every counter `clean_page_text` may report, in the order the rules run."""


def clean_page_text(text: str, title: str | None = None) -> tuple[str, dict[str, int]]:
    """Remove page furniture from text whose lines are paragraphs.

    Rules, in order: a credit glued to the end of a line is cut (`credit_suffix`); a first line
    equal to the title is dropped (`title_repeat`); a line equal to an earlier one is dropped
    (`repeated_line`: see `REPEAT_WORDS`); short lines matching a `LINE_RULES` pattern are dropped; a
    related-stories heading followed only by headline-like lines ends the article
    (`related_list`, counting every line removed); and where the title appears as a later line,
    the article starts after it (`before_title`: the teaser or sidebar lines before it and the
    title line, when they are fewer words than the rest).

    Args:
        text: the article text, one paragraph per line.
        title: the article's title, if known.

    Returns:
        The cleaned text (lines joined by "\\n") and {rule: lines changed or removed}, only for
        rules that fired.
    """
    counts: Counter[str] = Counter()
    kept: list[str] = []
    seen: set[str] = set()
    last = None  # the key of the last kept line
    wanted_title = _key(title) if title else None
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        cut = CREDIT_SUFFIX.sub("", line)
        if cut != line and cut:
            counts["credit_suffix"] += 1
            line = cut
        key = _key(line)
        if not kept and not seen and wanted_title and key == wanted_title:
            counts["title_repeat"] += 1
            seen.add(key)
            continue
        if key in seen and (len(key.split()) >= REPEAT_WORDS or key == last):
            counts["repeated_line"] += 1
            continue
        seen.add(key)
        rule = furniture_rule(line)
        if rule:
            counts[rule] += 1
            continue
        kept.append(line)
        last = key
    kept, dropped = _cut_related_list(kept)
    if dropped:
        counts["related_list"] += dropped
    kept, dropped = _start_at_title(kept, wanted_title)
    if dropped:
        counts["before_title"] += dropped
    return "\n".join(kept), dict(counts)


def furniture_rule(line: str) -> str | None:
    """The name of the first line rule the line matches (each rule removes lines of at most its
    `longest` words), or None."""
    words = len(line.split())
    for rule in LINE_RULES:
        if words <= rule.longest and rule.pattern.search(line):
            return rule.name
    return None


def _cut_related_list(lines: list[str]) -> tuple[list[str], int]:
    """Drop a trailing related-stories list: its heading and every line after it, when those
    lines all read as headlines. Returns the kept lines and the number dropped."""
    for i in range(len(lines) - 1, -1, -1):
        if RELATED_HEADING.match(lines[i]):
            rest = lines[i + 1:]
            if all(_headline_like(line) for line in rest):
                return lines[:i], len(lines) - i
            return lines, 0
    return lines, 0


def _start_at_title(lines: list[str], title: str | None) -> tuple[list[str], int]:
    """Where the page's own headline appears as a later line, the article starts there: the
    lines before it (teasers, a sidebar) go, when they are shorter than what follows."""
    if not title:
        return lines, 0
    keys = [_key(line) for line in lines]
    if title not in keys[1:]:
        return lines, 0
    at = keys.index(title, 1)
    before = sum(len(line.split()) for line in lines[:at])
    after = sum(len(line.split()) for line in lines[at + 1:])
    return (lines[at + 1:], at + 1) if before < after else (lines, 0)


def _key(line: str) -> str:
    """A line as the rules compare it: spaces collapsed, case folded."""
    return " ".join(line.split()).casefold()


def _headline_like(line: str) -> bool:
    return len(line.split()) <= RELATED_ITEM_WORDS and not line.rstrip("\"'”’)").endswith(
        (".", "!", "?", ":"))
