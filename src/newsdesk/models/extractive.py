"""The extractive summariser's model: a transformer encoder that scores every sentence.

An article is split into sentences, tokenised once, and packed into windows of whole sentences
that fit the encoder, so every sentence is scored however long the article. Each sentence's
representation is the mean of its tokens' hidden states; a linear head gives its score.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import AutoModel, AutoModelForTokenClassification

from newsdesk.errors import DataError
from newsdesk.models.inputs import Template
from newsdesk.models.loading import load_kwargs

SLOT_MULTIPLE = 8
"""At inference, sentence slots per window come in multiples of this: the sentence-pooling matmul
then meets few shapes, as batches of tokens do (`inference.batching.PAD_MULTIPLE`)."""
HEAD_FILE = "scorer_head.safetensors"  # the head's file in folders saved before newsdesk 0.2


def _classifier(tagger: nn.Module) -> nn.Linear:
    """The token-classification head (named `classifier` in BERT-like models)."""
    head = getattr(tagger, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise DataError(f"{type(tagger).__name__}: no linear `classifier` head; use a BERT-like "
                        "encoder for the extractive summariser")
    return head


@dataclass
class Window:
    """One encoder input: token ids, the sentence index of each token (-1 for special tokens),
    and which article sentences it scores."""

    input_ids: list[int]
    sentence_of_token: list[int]
    sentences: list[int]  # article sentence indices, in order


def pack_windows(sentence_ids: list[list[int]], template: Template, max_length: int) -> list[Window]:
    """Pack consecutive whole sentences into windows of at most `max_length` tokens.

    Every sentence lands in exactly one window; a sentence longer than a window is cut to fit.
    """
    budget = max_length - template.single_extra
    windows: list[Window] = []
    ids: list[int] = []
    owner: list[int] = []
    members: list[int] = []
    for s, sent in enumerate(sentence_ids):
        sent = sent[:budget] or sent[:1]
        if ids and len(ids) + len(sent) > budget:
            windows.append(_close(template, ids, owner, members))
            ids, owner, members = [], [], []
        ids.extend(sent)
        owner.extend([len(members)] * len(sent))
        members.append(s)
    if members:
        windows.append(_close(template, ids, owner, members))
    return windows


def _close(template: Template, ids, owner, members) -> Window:
    pre, post = len(template.single_prefix), len(template.single_suffix)
    full = template.single(ids)["input_ids"]
    return Window(full, [-1] * pre + owner + [-1] * post, members)


class SentenceScorer(nn.Module):
    """Encoder + linear head over mean-pooled sentence tokens.

    A linear head over the mean of a sentence's token states equals the mean of the head applied
    to each token, so the scorer is saved as a standard token-classification folder with one
    label (`AutoModelForTokenClassification` loads it whole: encoder and head); newsdesk reads a
    sentence's score as that mean. Folders from before (an encoder plus `scorer_head.safetensors`)
    still load.
    """

    def __init__(self, encoder: nn.Module, head: nn.Linear | None = None):
        super().__init__()
        self.encoder = encoder
        self.head = head if head is not None else nn.Linear(encoder.config.hidden_size, 1)
        pooler = getattr(encoder, "pooler", None)
        if isinstance(pooler, nn.Module):  # unused by the scorer; frozen so DDP sees no idle weights
            pooler.requires_grad_(False)

    @classmethod
    def from_encoder(cls, name_or_path: str) -> SentenceScorer:
        return cls(AutoModel.from_pretrained(name_or_path, **load_kwargs()))

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> SentenceScorer:
        if (Path(folder) / HEAD_FILE).is_file():  # the layout before token classification
            model = cls.from_encoder(str(folder))
            model.head.load_state_dict(load_file(str(Path(folder) / HEAD_FILE)))
            return model
        tagger = AutoModelForTokenClassification.from_pretrained(folder, **load_kwargs())
        head = _classifier(tagger)
        if head.out_features != 1:
            raise DataError(f"{folder}: a token classifier with {head.out_features} labels; a "
                            "sentence scorer has one")
        return cls(tagger.base_model, head)

    def save_pretrained(self, folder: str | Path) -> None:
        """Write a token-classification folder (one label) holding the encoder and the head."""
        config = copy.deepcopy(self.encoder.config)
        config.num_labels = 1
        config.id2label, config.label2id = {0: "summary_score"}, {"summary_score": 0}
        tagger = AutoModelForTokenClassification.from_config(config)
        missing, _ = tagger.base_model.load_state_dict(self.encoder.state_dict(), strict=False)
        if missing:
            raise ValueError(f"cannot save the scorer as token classification: {missing[:3]} ...")
        _classifier(tagger).load_state_dict(self.head.state_dict())
        tagger.save_pretrained(folder)

    def pool_sentences(self, hidden: torch.Tensor, sentence_of_token: torch.Tensor,
                       rounded: bool = True) -> torch.Tensor:
        """Scores (B, S) of each window's sentences from the encoder's hidden states (B, T, H):
        the head over each sentence's mean token state. With `rounded`, S is rounded up to a
        multiple of `SLOT_MULTIPLE`."""
        n_sent = int(sentence_of_token.max().item()) + 1
        if rounded:
            n_sent = -(-n_sent // SLOT_MULTIPLE) * SLOT_MULTIPLE
        # (B, S, T) membership of each token in each sentence
        member = (sentence_of_token.unsqueeze(1) == torch.arange(n_sent, device=hidden.device)
                  .view(1, -1, 1)).to(hidden.dtype)
        pooled = member @ hidden / member.sum(-1, keepdim=True).clamp(min=1)  # (B, S, H)
        return self.head(pooled).squeeze(-1).float()

    def forward(self, input_ids, attention_mask, sentence_of_token, labels=None):
        """Scores (B, S) for up to S sentences per window; BCE loss if labels (B, S) given.
        Without labels S is rounded up to a multiple of `SLOT_MULTIPLE` (the extra slots hold
        no sentence).

        `sentence_of_token` is (B, T) with -1 for tokens outside any sentence; labels use -100
        for padding sentences.
        """
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        scores = self.pool_sentences(hidden, sentence_of_token, rounded=labels is None)
        if labels is None:
            return scores
        n_sent = scores.shape[1]
        labels = labels[:, :n_sent]
        mask = labels != -100
        loss = nn.functional.binary_cross_entropy_with_logits(scores[mask], labels[mask].float())
        return loss, scores


def collate_windows(windows: list[Window], pad_id: int, labels: list[list[int]] | None = None,
                    length: int = 0) -> dict[str, torch.Tensor]:
    """Pad windows to one batch, as long as the longest window or `length`, whichever is longer;
    labels per window sentence (-100 for padding)."""
    longest = max(length, *(len(w.input_ids) for w in windows))
    most = max(len(w.sentences) for w in windows)
    b = len(windows)
    batch = {"input_ids": torch.full((b, longest), pad_id, dtype=torch.long),
             "attention_mask": torch.zeros((b, longest), dtype=torch.long),
             "sentence_of_token": torch.full((b, longest), -1, dtype=torch.long)}
    for i, w in enumerate(windows):
        n = len(w.input_ids)
        batch["input_ids"][i, :n] = torch.tensor(w.input_ids)
        batch["attention_mask"][i, :n] = 1
        batch["sentence_of_token"][i, :n] = torch.tensor(w.sentence_of_token)
    if labels is not None:
        batch["labels"] = torch.full((b, most), -100, dtype=torch.long)
        for i, lab in enumerate(labels):
            batch["labels"][i, : len(lab)] = torch.tensor(lab)
    return batch
