"""Articles from web pages: main text, title, date and author out of raw HTML.

Extraction is trafilatura's (a maintained library and the strongest open extractor on the
article-extraction benchmarks); newsdesk then applies its page-furniture rules
(`newsdesk.data.furniture`) to what trafilatura returns, which removes the newsletter, share and
credit lines it lets through. `extract_article` is the one entry point: the CLI, the batch job,
Ray and `data prepare` all call it.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

from newsdesk.data.furniture import clean_page_text
from newsdesk.errors import DataError

PAGE_FIELDS = ("title", "date", "author", "extractor")
"""What an analysis output records about a web page ("page" in each result)."""

INLINE_CARD = ("//p//*[not(self::a) and .//img and count(.//a) >= 2"
               " and not(*[.//img and count(.//a) >= 2])]")
"""Hover cards inside a paragraph (a person's photo and links to their stories, shown when the
name is hovered): the innermost element in a <p> holding an image and two links or more. Left
in, their text is glued into the sentence ("Gov. Kristi NoemKristi Lynn NoemSouth Dakota
governor doubles down on ..."); the name link itself stays."""

EXTRACTION = {"favor_precision": True, "include_comments": False, "include_tables": True,
              "prune_xpath": INLINE_CARD}
"""trafilatura settings: precision first (the models read every line we keep), no comments,
no inline cards."""


@cache
def extractor_name() -> str:
    """"trafilatura <version>+newsdesk-furniture", as recorded in every extracted article."""
    return f"trafilatura {_trafilatura_version()}+newsdesk-furniture"


def extract_article(html: str | bytes, url: str | None = None,
                    where: str = "") -> dict:
    """The article in a web page.

    Args:
        html: the page as fetched (text, or bytes in any encoding the page declares).
        url: the page's address, if known (helps trafilatura with relative links and metadata).
        where: names the record in error messages ("pages/a.html: ").

    Returns:
        {"title", "text", "date", "author", "extractor", "cleaning"}: text is one paragraph per
        line with page furniture removed; title, date (ISO) and author are None when the page
        does not say; cleaning counts what each furniture rule removed.

    Raises:
        DataError: the page is empty, is not HTML, or holds no article text.
    """
    import trafilatura

    if not isinstance(html, (str, bytes)):
        raise DataError(f"{where}'html' should be text, found {type(html).__name__}")
    if not html.strip():
        raise DataError(f"{where}empty 'html'")
    try:
        document = trafilatura.bare_extraction(html, url=url, with_metadata=True, **EXTRACTION)
    except Exception as e:  # lxml and trafilatura raise several types on broken input
        raise DataError(f"{where}cannot parse the page as HTML ({type(e).__name__}: {e})") from e
    text = (document.text or "").strip() if document is not None else ""
    if not text:
        raise DataError(f"{where}no article text found in the page")
    title = _field(document, "title")
    text, cleaning = clean_page_text(text, title)
    if not text:
        raise DataError(f"{where}the page holds only page furniture ({sorted(cleaning)})")
    return {"title": title, "text": text, "date": _field(document, "date"),
            "author": _field(document, "author"), "extractor": extractor_name(),
            "cleaning": cleaning}


def _field(document, name: str) -> str | None:
    value = getattr(document, name, None)
    return " ".join(value.split()) or None if isinstance(value, str) else None


def _trafilatura_version() -> str:
    try:
        return metadata.version("trafilatura")
    except metadata.PackageNotFoundError:
        return "unknown"
