"""Turning articles and (target, text) pairs into model inputs, for training and inference alike.

Texts are tokenised once, without special tokens, by the fast batch encoder; truncation,
chunking and special tokens are then applied to the id lists, so one encoding serves every
strategy and every model that shares the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdesk.models.chunking import chunk, select_evidence, truncate


def article_texts(titles: list[str | None] | None, texts: list[str]) -> list[str]:
    """The text a classifier reads for each article: the title (if any) on its own line, then
    the body. Topic training, the TF-IDF blend and its inference all read these."""
    titles = titles or [None] * len(texts)
    return [f"{t}\n{x}" if t else x for t, x in zip(titles, texts)]


@dataclass
class Template:
    """Where a tokenizer puts its special tokens, read off the tokenizer itself.

    Works for any tokenizer: BERT's [CLS] a [SEP] b [SEP], RoBERTa's <s> a </s></s> b </s>, ...
    """

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    single_suffix: list[int]
    single_prefix: list[int]
    pair_types: tuple[int, int]  # token type of the first and of the second segment
    has_types: bool

    @classmethod
    def of(cls, tokenizer) -> Template:
        a = tokenizer("a", add_special_tokens=False)["input_ids"]
        b = tokenizer("b", add_special_tokens=False)["input_ids"]
        single = tokenizer("a")["input_ids"]
        pair_enc = tokenizer("a", "b")
        pair = pair_enc["input_ids"]
        i = _find(single, a)
        j = _find(pair, a)
        k = _find(pair, b, start=j + len(a))
        has_types = "token_type_ids" in pair_enc
        types = pair_enc.get("token_type_ids") or [0] * len(pair)
        return cls(
            prefix=pair[:j],
            middle=pair[j + len(a) : k],
            suffix=pair[k + len(b) :],
            single_prefix=single[:i],
            single_suffix=single[i + len(a) :],
            pair_types=(types[j], types[k]),
            has_types=has_types,
        )

    @property
    def single_extra(self) -> int:
        return len(self.single_prefix) + len(self.single_suffix)

    @property
    def pair_extra(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    def single(self, ids: list[int]) -> dict:
        input_ids = self.single_prefix + ids + self.single_suffix
        out = {"input_ids": input_ids}
        if self.has_types:
            out["token_type_ids"] = [0] * len(input_ids)
        return out

    def pair(self, first: list[int], second: list[int]) -> dict:
        left = self.prefix + first + self.middle
        right = second + self.suffix
        out = {"input_ids": left + right}
        if self.has_types:
            out["token_type_ids"] = [self.pair_types[0]] * len(left) + [self.pair_types[1]] * len(right)
        return out


def _find(seq: list[int], sub: list[int], start: int = 0) -> int:
    for i in range(start, len(seq) - len(sub) + 1):
        if seq[i : i + len(sub)] == sub:
            return i
    raise ValueError("cannot locate the text inside the tokenizer's output; unsupported tokenizer")


def encode_texts(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids without special tokens, by the fast batch encoder."""
    if not texts:
        return []
    return tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]


def training_inputs(tokenizer, template: Template, texts: list[str], max_length: int,
                    strategy: str, targets: list[str] | None = None, evidence: str = "overlap",
                    ) -> list[dict]:
    """One truncated input per example: topic text, or a (target, evidence) pair for stance."""
    if targets is None:
        budget = max_length - template.single_extra
        return [template.single(truncate(ids, budget, strategy))
                for ids in encode_texts(tokenizer, texts)]
    target_ids = encode_texts(tokenizer, targets)
    counts: dict[str, int] = {}  # sentence -> tokens; bodies repeat across targets
    bodies = [stance_body(tokenizer, t, x, max_length, evidence, len(tid), template, counts)
              for t, x, tid in zip(targets, texts, target_ids)]
    out = []
    for tid, bid in zip(target_ids, encode_texts(tokenizer, bodies)):
        tid = tid[: max_length // 2]
        budget = max_length - template.pair_extra - len(tid)
        out.append(template.pair(tid, bid[:budget]))
    return out


def stance_body(tokenizer, target: str, text: str, max_length: int, evidence: str,
                target_tokens: int, template: Template, cache: dict | None = None) -> str:
    """The part of the body a stance model reads: evidence sentences or the head."""
    if evidence == "head":
        return text
    budget = max_length - template.pair_extra - min(target_tokens, max_length // 2)

    cache = {} if cache is None else cache

    def count(sentence: str) -> int:
        if sentence not in cache:
            cache[sentence] = len(tokenizer(sentence, add_special_tokens=False,
                                            verbose=False)["input_ids"])
        return cache[sentence]

    return select_evidence(target, text, count, budget)


def chunked_inputs(template: Template, ids: list[int], max_length: int, stride: int,
                   max_chunks: int = 0, prefix: list[int] | None = None) -> list[dict]:
    """Overlapping single-text chunks covering the article (the first `max_chunks` if set).

    `prefix` (the title's ids, at most a quarter of the budget) starts every chunk, so each
    chunk reads like a training input, which always starts with the title.
    """
    budget = max_length - template.single_extra
    prefix = (prefix or [])[: budget // 4]
    windows = chunk(ids, budget - len(prefix), min(stride, (budget - len(prefix)) // 2))
    if max_chunks:
        windows = windows[:max_chunks]
    return [template.single(prefix + w) for w in windows]


def article_chunks(template: Template, articles: list, max_length: int, stride: int,
                   max_chunks: int = 0) -> tuple[list[dict], list[int]]:
    """Title-prefixed chunks of every article (objects with `body_ids` and `title_ids`, such as
    `inference.encoding.Encoded`) and the index of the article each chunk belongs to. Chunked
    inference and chunk training (`truncation: chunks`) both read these."""
    feats, owners = [], []
    for i, a in enumerate(articles):
        chunks = chunked_inputs(template, a.body_ids, max_length, stride, max_chunks, a.title_ids)
        feats.extend(chunks)
        owners.extend([i] * len(chunks))
    return feats, owners
