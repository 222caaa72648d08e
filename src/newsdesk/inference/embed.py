"""Article embeddings from a frozen encoder (`models.embedding`), batched by token budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from newsdesk.inference.backend import TorchBackend
from newsdesk.inference.batching import collate, shaped_batches
from newsdesk.models.embedding import MeanPooled, first_chunks
from newsdesk.models.encoding import encode_articles, is_separable
from newsdesk.models.inputs import Template

Batches = Callable[[list, list[int], Callable], Iterator[tuple[list[int], dict]]]
MAX_TOKENS = 8192


@torch.inference_mode()
def embed(backend: TorchBackend, features: list[dict], dims: int, pad: int,
          batches: Batches) -> np.ndarray:
    """(inputs x dims) vectors of model inputs, in input order.

    Args:
        backend: runs a `MeanPooled` encoder.
        features: model inputs ({"input_ids", ...}).
        batches: yields (indices, tensors on the backend's device) per batch, as
            `Predictor.batches` does.
    """
    out = torch.zeros(len(features), dims)
    lengths = [len(f["input_ids"]) for f in features]
    for batch, inputs in batches(features, lengths, lambda fs, n: collate(fs, pad, n)):
        out[torch.tensor(batch)] = backend(inputs)
    return out.numpy()


def embed_articles(embedder: MeanPooled, tokenizer, titles: list[str | None], texts: list[str],
                   max_length: int, device: str = "cpu") -> np.ndarray:
    """Each article's embedding in fp32, as a predictor computes it (for training)."""
    encoded = encode_articles(tokenizer, texts, titles, is_separable(tokenizer))
    features = first_chunks(Template.of(tokenizer), encoded, max_length)
    where = torch.device(device)
    backend = TorchBackend(embedder.to(where).eval(), where, "fp32")

    def batches(items: list, lengths: list[int], collate_fn: Callable):
        for batch, length in shaped_batches(lengths, MAX_TOKENS, max_length):
            inputs = collate_fn([items[i] for i in batch], length)
            yield batch, {k: v.to(where) for k, v in inputs.items()}

    return embed(backend, features, embedder.dims, tokenizer.pad_token_id or 0, batches)
