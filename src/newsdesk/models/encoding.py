"""Tokenise articles once: sentences and their ids, shared by every model with the same tokenizer
(training and inference alike).

The topic classifier reads the title and all sentence ids end to end, the stance classifier picks
evidence sentences by id count, and the extractive summariser packs sentence ids into windows,
so one fast batch-encoder call per tokenizer serves all three.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from newsdesk.data.sentences import split_sentences
from newsdesk.models.inputs import encode_texts


@dataclass
class Encoded:
    """One article, split into sentences and tokenised (no special tokens)."""

    sentences: list[str]
    sentence_ids: list[list[int]]
    title_ids: list[int] = field(default_factory=list)
    whole_body_ids: list[int] | None = None  # set when the tokenizer is not sentence-separable

    @property
    def body_ids(self) -> list[int]:
        """Ids of the body alone."""
        if self.whole_body_ids is not None:
            return self.whole_body_ids
        return [i for s in self.sentence_ids for i in s]

    @property
    def ids(self) -> list[int]:
        """Ids of the title and body together, as the topic classifier reads them."""
        return self.title_ids + self.body_ids


def tokenizer_key(tokenizer) -> str:
    """Equal for tokenizers that encode identically (so models can share encodings)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else repr(tokenizer.get_vocab())
    return hashlib.sha1(text.encode()).hexdigest()


def is_separable(tokenizer) -> bool:
    """True if encoding sentences one by one and joining the ids equals encoding the whole text
    (WordPiece does; byte-level BPE, which folds the space into the next token, does not)."""
    parts = ["Shares rose 3.5% on Monday.", "\"We are pleased,\" said Mr. Smith.", "Naïve co-op!"]
    whole = encode_texts(tokenizer, [" ".join(parts)])[0]
    return whole == [i for ids in encode_texts(tokenizer, parts) for i in ids]


def encode_articles(tokenizer, texts: list[str], titles: list[str | None] | None = None,
                    separable: bool = True) -> list[Encoded]:
    """Split every article into sentences and tokenise titles and sentences in one batch call."""
    titles = titles or [None] * len(texts)
    split = [split_sentences(t) for t in texts]
    flat = [t or "" for t in titles] + [s for sentences in split for s in sentences]
    ids = encode_texts(tokenizer, flat)
    title_ids, rest = ids[: len(texts)], iter(ids[len(texts) :])
    out = [Encoded(sentences, [next(rest) for _ in sentences], tid)
           for sentences, tid in zip(split, title_ids)]
    if not separable:
        for e, ids in zip(out, encode_texts(tokenizer, texts)):
            e.whole_body_ids = ids
    return out
