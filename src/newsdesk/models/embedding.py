"""A frozen pretrained encoder whose mean-pooled embedding of an article's first chunk the topic
TF-IDF regressions read beside their word columns (`lexical_embedding` in the config).

The encoder is the one the transformer was fine-tuned from, kept as it was pretrained, so an
article's embedding never depends on which articles the model trained on: out-of-fold fits and
thresholds over the training split stay held out. Saved in the model folder as `embedder/`
(a plain Hugging Face encoder folder); the folder's tokenizer reads for it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel

from newsdesk.errors import DataError
from newsdesk.models.chunking import truncate
from newsdesk.models.encoding import Encoded
from newsdesk.models.inputs import Template
from newsdesk.models.loading import load_kwargs

FOLDER = "embedder"
SCALE = 1.0  # the embedding columns' size beside the L2-normalised TF-IDF rows (benchmarks/RESULTS.md)


class MeanPooled(torch.nn.Module):
    """An encoder whose forward pass gives one L2-normalised, mean-pooled vector per input."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    @property
    def dims(self) -> int:
        return int(self.encoder.config.hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **inputs) -> torch.Tensor:
        if attention_mask is None:  # the backend drops an all-ones mask
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              **inputs).last_hidden_state.float()
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)

    @classmethod
    def from_pretrained(cls, name_or_folder: str | Path) -> MeanPooled:
        """The pretrained encoder of a Hub id or local folder (a classifier head is dropped)."""
        return cls(AutoModel.from_pretrained(name_or_folder, **load_kwargs())).eval()

    @classmethod
    def load(cls, folder: str | Path) -> MeanPooled:
        """The embedder saved in a model folder (DataError when it is not there)."""
        path = Path(folder) / FOLDER
        if not (path / "config.json").is_file():
            raise DataError(f"{folder}: {FOLDER}/ is missing, but lexical.json says the TF-IDF "
                            "model reads its article embeddings (copy the whole folder, or "
                            "retrain)")
        return cls.from_pretrained(path)

    def save(self, folder: str | Path) -> None:
        self.encoder.save_pretrained(Path(folder) / FOLDER)


def first_chunks(template: Template, encoded: list[Encoded], max_length: int) -> list[dict]:
    """Each article's model input for its embedding: its first `max_length` tokens."""
    budget = max_length - template.single_extra
    return [template.single(truncate(e.ids, budget, "head")) for e in encoded]
