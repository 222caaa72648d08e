"""Length-sorted, token-budgeted batching that hands results back in input order."""

from __future__ import annotations

from collections.abc import Iterator

import torch

PAD_MULTIPLE = 32
"""Batches are padded to a multiple of this many tokens. On CPU, oneDNN (bf16 matmuls) keeps
compiled kernels per input shape in caches of up to 1,024 entries each, so a job whose batches
take every length from 1 to 512 grows its memory window after window (benchmarks/RESULTS.md,
"batch-job memory"); with lengths in steps of 32 the shapes are few and met again at once."""


def shaped_batches(lengths: list[int], max_tokens: int, limit: int
                   ) -> Iterator[tuple[list[int], int]]:
    """`token_budget_batches` over lengths rounded up to a multiple of `PAD_MULTIPLE` (but not
    past `limit`, the model's longest input, unless a length itself is longer): (indices, the
    length to pad the batch to) per batch."""
    padded = [min(-(-n // PAD_MULTIPLE) * PAD_MULTIPLE, max(n, limit)) for n in lengths]
    for batch in token_budget_batches(padded, max_tokens):
        yield batch, max(padded[i] for i in batch)


def token_budget_batches(lengths: list[int], max_tokens: int, max_batch: int = 256,
                         min_fill: float = 0.9) -> Iterator[list[int]]:
    """Group indices into batches of similar length whose padded size stays under `max_tokens`.

    Indices are sorted by length (longest first, so a memory problem shows at once); a batch of
    B inputs padded to length L costs B * L tokens. Once a batch holds a quarter of the budget,
    an input shorter than `min_fill` of the batch's longest starts a new batch, so short inputs
    (the last chunk of an article, say) are not padded to the longest.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        longest = lengths[batch[0]] if batch else lengths[i]
        full = (len(batch) + 1) * longest > max_tokens or len(batch) >= max_batch
        ragged = len(batch) * longest >= max_tokens // 4 and lengths[i] < min_fill * longest
        if batch and (full or ragged):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def collate(features: list[dict], pad_id: int, length: int = 0) -> dict[str, torch.Tensor]:
    """Right-pad a list of {input_ids, token_type_ids?} to one batch with an attention mask, as
    long as the longest input or `length`, whichever is longer."""
    longest = max(length, *(len(f["input_ids"]) for f in features))
    out = {"input_ids": torch.full((len(features), longest), pad_id, dtype=torch.long),
           "attention_mask": torch.zeros((len(features), longest), dtype=torch.long)}
    if "token_type_ids" in features[0]:
        out["token_type_ids"] = torch.zeros((len(features), longest), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        out["input_ids"][row, :n] = torch.tensor(f["input_ids"])
        out["attention_mask"][row, :n] = 1
        if "token_type_ids" in out:
            out["token_type_ids"][row, :n] = torch.tensor(f["token_type_ids"])
    return out
