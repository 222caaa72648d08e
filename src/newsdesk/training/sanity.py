"""A sanity suite for stance models on real text: claims against stories from other sections.

A story's headline is a claim its own body is related to; the body of a story from another
section of the paper is almost surely unrelated to it. A stance model that generalises says
"unrelated" to the second kind and anything else to the first, whatever corpus it trained on.
"""

from __future__ import annotations

import random
from collections import defaultdict

from newsdesk.errors import DataError

UNRELATED = "unrelated"


def cross_section_pairs(articles: list[dict], per_section: int = 40, seed: int = 13
                        ) -> list[dict]:
    """Claim-body pairs with the answer known.

    For up to `per_section` articles of each section (a seeded sample), the article's title is
    the claim; it is paired with its own body (expect "related") and with the body of an article
    drawn from another section (expect "unrelated").

    Args:
        articles: dicts with "title", "text" and "topic" (the section).
        per_section: claims per section.
        seed: the same seed and articles give the same pairs.

    Returns:
        dicts with "target", "text", "expect" ("related" or "unrelated"), "claim_section",
        "body_section"; the related pair of a claim comes just before its unrelated one.
    """
    by_section: dict[str, list[dict]] = defaultdict(list)
    for i, a in enumerate(articles):
        if not a.get("title") or not a.get("text") or not a.get("topic"):
            raise DataError(f"article {i}: a title, a text and a topic are needed for claim pairs")
        by_section[a["topic"]].append(a)
    if len(by_section) < 2:
        raise DataError(f"claim pairs need articles from two sections or more, got "
                        f"{sorted(by_section)}")
    rng = random.Random(seed)
    sections = sorted(by_section)
    pairs = []
    for section in sections:
        chosen = rng.sample(by_section[section], min(per_section, len(by_section[section])))
        for a in chosen:
            other = rng.choice([s for s in sections if s != section])
            b = rng.choice(by_section[other])
            pairs.append({"target": a["title"], "text": a["text"], "expect": "related",
                          "claim_section": section, "body_section": section})
            pairs.append({"target": a["title"], "text": b["text"], "expect": UNRELATED,
                          "claim_section": section, "body_section": other})
    return pairs


def sanity_rates(pairs: list[dict], labels: list[str]) -> dict:
    """The share of cross-section pairs called "unrelated" and of own-story pairs called
    anything else, with counts, given the predicted label of each pair."""
    if len(pairs) != len(labels):
        raise DataError(f"{len(labels)} predictions for {len(pairs)} pairs")
    cross = [lab for p, lab in zip(pairs, labels) if p["expect"] == UNRELATED]
    own = [lab for p, lab in zip(pairs, labels) if p["expect"] != UNRELATED]
    return {
        "cross_section_unrelated": round(sum(lab == UNRELATED for lab in cross) / max(1, len(cross)),
                                         4),
        "own_story_related": round(sum(lab != UNRELATED for lab in own) / max(1, len(own)), 4),
        "cross_section_pairs": len(cross), "own_story_pairs": len(own),
    }
