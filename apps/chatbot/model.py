"""The intent model: all-MiniLM-L6-v2 (mean-pooled) with a linear head.

Batches are built from texts of similar length (``LengthBatches``) and padded
only to the longest text of each batch, which is most of the CPU speed-up on
short chat messages. The artifact holds the fine-tuned weights, the tokenizer
and config, the label list and the out-of-scope threshold.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from lepton_shared.transfer import TEXT_DIM, load_text_encoder, mean_pool

MAX_LENGTH = 64
# Hugging Face fast tokenizers raise "Already borrowed" when one instance is called from
# several threads at once (the service answers requests in a thread pool), so calls are serialised.
_TOKENIZER_LOCK = threading.Lock()


class IntentNetwork(Protocol):
    """What :func:`infer` needs: the fp32 :class:`IntentModel` and its optimised variants
    (``apps/chatbot/variants.py``: int8, ONNX, pruned, bf16/fp16) all provide it."""

    @property
    def num_labels(self) -> int: ...

    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, mean-pooled sentence embeddings) of one tokenised batch."""
        ...

    def eval(self) -> Any: ...


class IntentModel(nn.Module):
    """Sentence encoder + dropout + linear classifier over intents."""

    #: set on variants that can only run on one device (int8 and ONNX: the CPU), whatever the caller asks
    fixed_device: torch.device | None = None

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(TEXT_DIM, num_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    @property
    def num_labels(self) -> int:
        return int(self.head.out_features)

    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, mean-pooled sentence embeddings); eval mode, so no dropout."""
        emb = self.embed(input_ids, attention_mask)
        return self.head(emb), emb


def new_model(num_labels: int) -> tuple[Any, IntentModel]:
    """(tokenizer, model) starting from the pretrained encoder and a fresh head."""
    tokenizer, encoder = load_text_encoder()
    return tokenizer, IntentModel(encoder, num_labels)


class LengthBatches(Dataset):
    """A dataset whose items are whole batches of texts of similar length.

    The Trainer's loader then uses ``batch_size=1`` and :class:`Collate` merges
    the chunk(s). ``reshuffle(epoch)`` regroups the texts so each epoch sees
    different batches, in a random order.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[int], batch_size: int, seed: int = 0,
                 shuffle: bool = True) -> None:
        self.texts, self.labels = list(texts), list(labels)
        self.batch_size, self.seed, self.shuffle = batch_size, seed, shuffle
        self.lengths = [len(t.split()) for t in self.texts]
        self.chunks: list[list[int]] = []
        self.reshuffle(0)

    def reshuffle(self, epoch: int) -> None:
        rng = random.Random(self.seed + epoch)
        order = list(range(len(self.texts)))
        if self.shuffle:
            rng.shuffle(order)
            # sort within windows of 50 batches: similar lengths together, still random overall
            window = self.batch_size * 50
            order = [i for s in range(0, len(order), window)
                     for i in sorted(order[s:s + window], key=lambda j: self.lengths[j])]
        else:
            order.sort(key=lambda j: self.lengths[j])
        self.chunks = [order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        if self.shuffle:
            rng.shuffle(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, index: int) -> tuple[list[str], list[int]]:
        idx = self.chunks[index]
        return [self.texts[i] for i in idx], [self.labels[i] for i in idx]


@dataclass
class Collate:
    """Tokenise chunk(s) of texts with dynamic padding (to the longest text, at most ``max_length``)."""

    tokenizer: Any
    max_length: int = MAX_LENGTH

    def __call__(self, chunks: list[tuple[list[str], list[int]]]) -> dict[str, torch.Tensor]:
        texts = [t for chunk in chunks for t in chunk[0]]
        labels = [y for chunk in chunks for y in chunk[1]]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "labels": torch.tensor(labels, dtype=torch.long)}


@torch.no_grad()
def infer(model: IntentNetwork, tokenizer: Any, texts: Sequence[str], batch_size: int = 64,
          device: torch.device | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(logits, L2-normalised sentence embeddings) for ``texts``, in their order."""
    device = getattr(model, "fixed_device", None) or device or _device_of(model)
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    logits = np.zeros((len(texts), model.num_labels), dtype=np.float32)
    embeds = np.zeros((len(texts), TEXT_DIM), dtype=np.float32)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        with _TOKENIZER_LOCK:
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_LENGTH,
                            return_tensors="pt")
        enc = enc.to(device)
        out, emb = model.scores(enc["input_ids"], enc["attention_mask"])
        logits[idx] = out.float().cpu().numpy()
        embeds[idx] = nn.functional.normalize(emb.float(), dim=1).cpu().numpy()
    return logits, embeds


def _device_of(model: Any) -> torch.device:
    params = model.parameters() if isinstance(model, nn.Module) else iter(())
    first = next(params, None)
    return first.device if first is not None else torch.device("cpu")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def save_model(folder: Path, model: IntentModel, tokenizer: Any, labels: list[str], extra: dict[str, Any]) -> None:
    """Write encoder (HF format), head weights and ``intent_config.json`` into ``folder``."""
    model.encoder.save_pretrained(folder / "encoder", safe_serialization=True)  # type: ignore[operator]
    tokenizer.save_pretrained(folder / "encoder")
    torch.save(model.head.state_dict(), folder / "head.pt")
    (folder / "intent_config.json").write_text(json.dumps({"labels": labels, **extra}, indent=2))


def load_model(folder: Path, device: str | torch.device | None = None) -> tuple[Any, IntentNetwork, dict[str, Any]]:
    """(tokenizer, model in eval mode on ``device``, config) from an artifact written by :func:`save_model`.

    ``device``: auto | cpu | cuda or a torch device; None means the ``LEPTON_DEVICE`` setting.
    An optimised artifact (``lepton chatbot optimize``) loads as the variant its ``optimisation.json`` names."""
    from transformers import AutoModel, AutoTokenizer

    from lepton_shared.optimize.base import read_optimisation
    from lepton_shared.training.trainer import resolve_device

    config = json.loads((folder / "intent_config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(folder / "encoder", local_files_only=True)
    record = read_optimisation(folder)
    if record is not None:
        from apps.chatbot.variants import load_variant

        target = device if isinstance(device, torch.device) else resolve_device(device)
        return tokenizer, load_variant(folder, record, len(config["labels"]), target), config
    encoder = AutoModel.from_pretrained(folder / "encoder", local_files_only=True)
    model = IntentModel(encoder, len(config["labels"]))
    model.head.load_state_dict(torch.load(folder / "head.pt", map_location="cpu", weights_only=True))
    model.to(device if isinstance(device, torch.device) else resolve_device(device)).eval()
    return tokenizer, model, config
