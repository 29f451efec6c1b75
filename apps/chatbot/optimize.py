"""``lepton chatbot optimize``: smaller and faster versions of a trained intent model.

Each method writes a copy of the source artifact (tokenizer, labels, out-of-scope
threshold, neighbour vote, TF-IDF model, FAQ, policies) with the network replaced, and
``optimisation.json`` saying how (``apps/chatbot/variants.py`` loads it); the shared runner
(:mod:`lepton_shared.optimize.runner`) measures it against the source through the same
``ChatbotPredictor`` and gates its promotion on accuracy as ``lepton chatbot evaluate`` computes it.

* ``int8``: PyTorch dynamic int8 of the encoder's Linear layers and weight-only int8 of its
  embeddings (the 30522-word table is about half of MiniLM's weights);
* ``onnx``: one ONNX graph with both outputs the ensemble needs (``logits`` and ``embeddings``);
* ``onnx-int8``: that graph quantised by ONNX Runtime (MatMul and the embedding Gathers);
* ``prune``: global magnitude pruning of the encoder's Linear weights, then a short fine-tune
  through the shared ``Trainer`` on (part of) the training split of the source's own training data;
  the neighbour vote, FAQ embeddings and out-of-scope threshold are recomputed for the changed encoder;
* ``bf16`` / ``fp16``: the weights in half precision (fp16 only with a CUDA GPU).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import torch

from apps.chatbot.model import IntentModel
from lepton_shared.errors import UserError
from lepton_shared.optimize.base import AppOptimizer, read_optimisation, write_optimisation
from lepton_shared.registry import ModelInfo

APP = "chatbot"
#: Files of the network that a method replaces (everything else of the source artifact is copied).
NETWORK_FILES = ("encoder/model.safetensors", "head.pt")
#: Written by the registry for every version; never copied from the source.
META_FILE = "lepton_meta.json"
#: Sources a method can start from: plain fp32 artifacts and pruned ones (still full-precision weights).
FULL_PRECISION_SOURCES = (None, "prune")
EXPORT_TEXTS = ("hi", "My new card has not arrived yet and I ordered it two weeks ago, what should I do?")


def _copy_artifact(source: Path, folder: Path, skip: tuple[str, ...]) -> None:
    """Copy the source artifact into ``folder`` except ``skip`` (relative paths), its meta and its marker."""
    from lepton_shared.optimize.base import OPTIMISATION_FILE

    skipped = {*skip, META_FILE, OPTIMISATION_FILE}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_dir() or rel in skipped:
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def training_frame(params: dict[str, Any]) -> Any:
    """The data a version was trained on, from its registered params (``source``: a file or built-in)."""
    from apps.chatbot.data import MIN_EXAMPLES, builtin_frame, load_intents

    source = str(params.get("source", "built-in"))
    if source == "built-in":
        return builtin_frame(bool(params.get("tiny")))
    if not Path(source).is_file():
        raise UserError(f"pruning fine-tunes on the model's training data, {source}, which is no longer there")
    return load_intents(Path(source), min_examples=MIN_EXAMPLES)


class ChatbotOptimizer(AppOptimizer):
    methods: ClassVar[tuple[str, ...]] = ("int8", "prune", "onnx", "onnx-int8", "bf16", "fp16")
    batch_size: ClassVar[int] = 32
    #: Share of the encoder's Linear weights zeroed by ``prune`` (globally smallest magnitudes).
    prune_amount: ClassVar[float] = 0.3
    #: Training rows the short fine-tune after pruning sees (one pass; 100 batches of 32).
    fine_tune_rows: ClassVar[int] = 3200
    fine_tune_encoder_lr: ClassVar[float] = 3e-5
    fine_tune_head_lr: ClassVar[float] = 3e-4

    def __init__(self, source: ModelInfo, data: Path | None, device: str = "cpu") -> None:
        super().__init__(source, data, device)
        record = read_optimisation(source.path)
        if record is not None and record.get("method") not in FULL_PRECISION_SOURCES:
            raise UserError(f"chatbot {source.version} is already optimised ({record.get('method')} of "
                            f"{record.get('optimised_from')}); optimise {record.get('optimised_from')} instead")

    # -- the artifact -----------------------------------------------------------------------
    def _load_source(self) -> tuple[Any, IntentModel, dict[str, Any]]:
        from apps.chatbot.model import load_model

        tokenizer, model, config = load_model(self.source.path, torch.device("cpu"))
        if not isinstance(model, IntentModel):  # pragma: no cover - __init__ refuses other sources
            raise UserError(f"chatbot {self.source.version} is not a full-precision model")
        return tokenizer, model, config

    def write(self, method: str, folder: Path) -> None:
        if method not in self.methods:
            raise UserError(f"the chatbot does not support --method {method}; it supports: "
                            f"{', '.join(self.methods)}")
        if method in ("bf16", "fp16"):
            from lepton_shared.optimize.methods import check_cast_supported

            check_cast_supported(method, self.device)  # before any work: fp16 without CUDA is a UserError
        tokenizer, model, config = self._load_source()
        extra: dict[str, Any]
        if method == "int8":
            extra = self._write_int8(model, folder)
        elif method in ("onnx", "onnx-int8"):
            extra = self._write_onnx(method, model, tokenizer, folder)
        elif method == "prune":
            extra = self._write_pruned(model, tokenizer, config, folder)
        else:
            extra = self._write_half(method, model, tokenizer, config, folder)
        write_optimisation(folder, method, self.source, **extra)

    def _write_int8(self, model: IntentModel, folder: Path) -> dict[str, Any]:
        from apps.chatbot.variants import INT8_FILE, quantize_int8

        _copy_artifact(self.source.path, folder, NETWORK_FILES)
        torch.save(quantize_int8(model).state_dict(), folder / INT8_FILE)
        return {"file": INT8_FILE, "engine": "torch.ao dynamic int8 (Linear), weight-only int8 (Embedding)"}

    def _write_onnx(self, method: str, model: IntentModel, tokenizer: Any, folder: Path) -> dict[str, Any]:
        import tempfile

        import numpy as np

        from apps.chatbot.variants import INPUT_NAMES, ONNX_FILE, OUTPUT_NAMES, OnnxIntentModel, ScoresGraph
        from lepton_shared.optimize.methods import export_onnx, quantize_onnx_int8

        _copy_artifact(self.source.path, folder, NETWORK_FILES)
        enc = tokenizer(list(EXPORT_TEXTS), padding=True, return_tensors="pt")
        example = (enc["input_ids"], enc["attention_mask"])
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                "logits": {0: "batch"}, "embeddings": {0: "batch"}}
        target = folder / ONNX_FILE
        with tempfile.TemporaryDirectory() as tmp:
            exported = Path(tmp) / "fp32.onnx" if method == "onnx-int8" else target
            export_onnx(ScoresGraph(model), example, exported, INPUT_NAMES, OUTPUT_NAMES, axes)
            if method == "onnx-int8":
                quantize_onnx_int8(exported, target)
        # the graph must give what the torch model gives (up to quantisation): check it on the export texts
        onnx_logits, onnx_emb = OnnxIntentModel(target, model.num_labels, threads=1).scores(*example)
        with torch.no_grad():
            logits, emb = model.scores(*example)
        return {"file": ONNX_FILE, "engine": "onnxruntime", "outputs": list(OUTPUT_NAMES),
                "max_abs_logit_diff": float(np.abs(onnx_logits.numpy() - logits.numpy()).max()),
                "max_abs_embedding_diff": float(np.abs(onnx_emb.numpy() - emb.numpy()).max())}

    def _write_half(self, method: str, model: IntentModel, tokenizer: Any, config: dict[str, Any],
                    folder: Path) -> dict[str, Any]:
        from apps.chatbot.model import save_model
        from lepton_shared.optimize.methods import cast_module

        cast_module(model, method, self.device)
        _copy_artifact(self.source.path, folder, NETWORK_FILES)
        save_model(folder, model, tokenizer, list(config["labels"]),
                   {k: v for k, v in config.items() if k != "labels"})
        return {"dtype": str(model.head.weight.dtype).removeprefix("torch.")}

    # -- pruning ----------------------------------------------------------------------------
    def _write_pruned(self, model: IntentModel, tokenizer: Any, config: dict[str, Any],
                      folder: Path) -> dict[str, Any]:
        from apps.chatbot.data import split
        from apps.chatbot.faq import FaqIndex
        from apps.chatbot.model import save_model
        from lepton_shared.optimize.methods import make_pruning_permanent, prune_magnitude, sparsity

        params = self.source.params
        train, val = split(training_frame(params), float(params.get("val_fraction", 0.1)),
                           int(params.get("seed", 42)))
        prune_magnitude(model.encoder, self.prune_amount, permanent=False)  # masks stay during the fine-tune
        history = self.fine_tune(model, tokenizer=tokenizer, train=train, val=val, labels=list(config["labels"]))
        make_pruning_permanent(model.encoder)
        model.to("cpu").eval()
        _copy_artifact(self.source.path, folder, NETWORK_FILES)
        # the encoder changed: its neighbour embeddings, FAQ embeddings and out-of-scope threshold follow it
        threshold = self._refit_neighbours(model, tokenizer, config, train, val, folder)
        faq = FaqIndex.load(self.source.path, float(config.get("faq_threshold", 0.8)))
        if len(faq):
            from apps.chatbot.model import infer

            _, faq_emb = infer(model, tokenizer, faq.questions)
            FaqIndex(faq.questions, faq.answers, faq_emb, faq.threshold).save(folder)
        save_model(folder, model, tokenizer, list(config["labels"]),
                   {**{k: v for k, v in config.items() if k != "labels"}, "oos_threshold": threshold})
        return {"amount": self.prune_amount, "sparsity": round(sparsity(model.encoder), 4),
                "fine_tune": history, "oos_threshold_before": config["oos_threshold"], "oos_threshold": threshold}

    def fine_tune(self, module: Any, **kwargs: Any) -> Any:
        """A short fine-tune of the pruned ``module`` (masks in place) on the training split: one pass over
        at most ``fine_tune_rows`` rows through the shared Trainer, as ``apps/chatbot/training.py`` trains.
        Returns the Trainer's history."""
        from apps.chatbot.model import Collate, LengthBatches
        from apps.chatbot.training import _accuracy, _loss, training_threads
        from lepton_shared.training import Trainer, TrainerConfig
        from lepton_shared.transfer import freeze, param_groups

        tokenizer, train, val, labels = kwargs["tokenizer"], kwargs["train"], kwargs["val"], kwargs["labels"]
        seed = int(self.source.params.get("seed", 42))
        index = {name: i for i, name in enumerate(labels)}
        rows = train[train["label"].isin(index)]
        rows = rows.sample(n=min(len(rows), self.fine_tune_rows), random_state=seed)
        val_in = val[val["label"].isin(index)]
        batch = int(self.source.params.get("batch_size", 32))
        train_ds = LengthBatches(list(rows["text"]), [index[y] for y in rows["label"]], batch, seed=seed)
        val_ds = LengthBatches(list(val_in["text"]), [index[y] for y in val_in["label"]], batch, shuffle=False)
        freeze(module.encoder.embeddings)
        pooler = getattr(module.encoder, "pooler", None)
        if isinstance(pooler, torch.nn.Module):
            freeze(pooler)
        config = TrainerConfig(epochs=1, batch_size=1, lr=self.fine_tune_head_lr, weight_decay=0.0,
                               device=self.device, seed=seed, monitor="accuracy", mode="max", patience=None,
                               scheduler="linear", warmup_ratio=0.1, app=APP, show_progress=False,
                               log_to_db=False)
        groups = param_groups(module, {"encoder.": self.fine_tune_encoder_lr}, self.fine_tune_head_lr)
        trainer = Trainer(module, config, loss_fn=_loss(float(self.source.params.get("label_smoothing", 0.1))),
                          eval_fn=_accuracy, param_groups=groups)
        previous = torch.get_num_threads()
        torch.set_num_threads(training_threads())
        try:
            result = trainer.fit(train_ds, val_ds if len(val_ds) else None, collate_fn=Collate(tokenizer))
        finally:
            torch.set_num_threads(previous)
        return [{k: round(float(v), 4) for k, v in row.items()} for row in result.history]

    def _refit_neighbours(self, model: IntentModel, tokenizer: Any, config: dict[str, Any], train: Any, val: Any,
                          folder: Path) -> float:
        """Rebuild the neighbour vote from the new encoder's training embeddings (when the source has one) and
        choose the out-of-scope threshold again on the validation split, as training does."""
        from apps.chatbot.ensemble import IntentScorer
        from apps.chatbot.model import infer
        from apps.chatbot.neighbours import NeighbourVote
        from apps.chatbot.oos import choose_score_threshold
        from apps.chatbot.scoring import label_ids

        labels = list(config["labels"])
        source_vote = NeighbourVote.load(self.source.path, len(labels))
        if source_vote is None:
            return float(config["oos_threshold"])
        _, train_emb = infer(model, tokenizer, list(train["text"]))  # as training.fit_vote does at training time
        NeighbourVote(train_emb, label_ids(labels, train), len(labels), source_vote.temperature).save(folder)
        logits, val_emb = infer(model, tokenizer, list(val["text"]))
        y = label_ids(labels, val)
        scorer = IntentScorer.load(folder, config)
        _, oos_scores = scorer.score(logits, val_emb, list(val["text"]))
        return choose_score_threshold(oos_scores[y >= 0], float(self.source.params.get("max_drop", 0.01)))

    # -- measuring --------------------------------------------------------------------------
    def metric(self, version: str) -> float:
        """Accuracy as ``lepton chatbot evaluate`` reports it, on ``self.data`` (else the built-in held-out part)."""
        from apps.chatbot.scoring import evaluate_version
        from lepton_shared.registry import Registry

        info = Registry().get(APP, version)
        metrics = evaluate_version(info, self.data, baselines=False)
        if "accuracy" not in metrics:
            raise UserError("the evaluation data has no in-scope rows to compute accuracy on")
        return float(metrics["accuracy"])

    def sample_items(self, n: int) -> list[Any]:
        """``n`` distinct messages (from ``self.data`` when given, else the built-in intents) as predictor inputs."""
        import random

        from apps.chatbot.data import OOS_LABEL, builtin_frame, load_intents
        from apps.chatbot.predictor import MAX_MESSAGE_CHARS, MessageIn

        frame = load_intents(self.data) if self.data is not None else builtin_frame()
        texts = list(dict.fromkeys(t for t, y in zip(frame["text"], frame["label"], strict=True)
                                   if y != OOS_LABEL and len(t) <= MAX_MESSAGE_CHARS))
        random.Random(0).shuffle(texts)
        return [MessageIn(text=t) for t in texts[:n]]


OPTIMIZER_CLASS = ChatbotOptimizer
