"""Length-sorted, token-budgeted batching that hands results back in input order."""

from __future__ import annotations

from collections.abc import Iterator

import torch


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


def collate(features: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of {input_ids, token_type_ids?} to one batch with an attention mask."""
    longest = max(len(f["input_ids"]) for f in features)
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
