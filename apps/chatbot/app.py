"""``APP``: the chatbot as the suite's CLI, services and tests see it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    import pandas as pd
    from fastapi import FastAPI

    from apps.chatbot.predictor import ChatbotPredictor
    from lepton_shared.registry import ModelInfo

TINY_PER_INTENT = 8
BUILTIN_PER_INTENT = 24


class ChatbotApp(LeptonApp):
    name: ClassVar[str] = "chatbot"
    default_epochs: ClassVar[int] = 3

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        if command == "train":
            parser.add_argument("--faq", type=Path, default=None,
                                help="FAQ CSV with columns question,answer (default: the demo bank's FAQ)")
            parser.add_argument("--tiny", action="store_true",
                                help="train on 8 examples per built-in intent (seconds; for tests and smoke runs; "
                                     "ignored with --data)")
            parser.add_argument("--val-fraction", type=float, default=0.1,
                                help="share of the data held out for early stopping and the out-of-scope "
                                     "threshold (default 0.1)")
            parser.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
            parser.add_argument("--encoder-lr", type=float, default=8e-5,
                                help="learning rate of the MiniLM encoder (default 8e-5)")
            parser.add_argument("--head-lr", type=float, default=3e-3,
                                help="learning rate of the intent head (default 3e-3)")
            parser.add_argument("--label-smoothing", type=float, default=0.1, help="default 0.1")
            parser.add_argument("--max-drop", type=float, default=0.01,
                                help="share of in-scope validation messages the out-of-scope threshold may send "
                                     "to the fallback, which bounds the accuracy it costs (default 0.01 = 1 point)")
            parser.add_argument("--faq-threshold", type=float, default=None,
                                help="cosine similarity an FAQ question needs to answer (default 0.8)")
            parser.add_argument("--threads", type=int, default=None,
                                help="torch CPU threads while training (default: the cores not busy with other work)")

    # -- training ------------------------------------------------------------
    def _training_data(self, args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
        from apps.chatbot.data import MIN_EXAMPLES, builtin_intents, builtin_off_topic, load_intents

        if args.data is not None:
            return load_intents(args.data, min_examples=MIN_EXAMPLES), str(args.data)
        import pandas as pd

        per_intent = TINY_PER_INTENT if getattr(args, "tiny", False) else BUILTIN_PER_INTENT
        return pd.concat([builtin_intents(per_intent), builtin_off_topic()], ignore_index=True), "built-in"

    def train(self, args: argparse.Namespace) -> ModelInfo:
        from apps.chatbot.data import builtin_faq, load_faq, split
        from apps.chatbot.training import FitSettings, fit
        from lepton_shared.errors import UserError

        if not 0.0 < args.val_fraction < 0.5:
            raise UserError("--val-fraction must be between 0 and 0.5")
        if args.batch_size < 1:
            raise UserError("--batch-size must be at least 1")
        if not 0.0 <= args.max_drop < 1.0:
            raise UserError("--max-drop must be between 0 and 1")
        frame, source = self._training_data(args)
        faq = load_faq(args.faq) if args.faq is not None else builtin_faq()
        train, val = split(frame, args.val_fraction, args.seed)
        settings = FitSettings.from_args(args, 1 if args.tiny and args.epochs is None else self.default_epochs)
        started = time.perf_counter()
        tokenizer, model, labels, result = fit(train, val, settings)
        from apps.chatbot.finish import FittedRun, finish  # threshold, neighbours, artifact, registration

        run = FittedRun(tokenizer=tokenizer, model=model, labels=labels, result=result, train=train, val=val,
                        frame=frame, source=source, faq=faq, settings=settings, started=started)
        return finish(run, args, promote=not args.no_promote)

    # -- evaluation ------------------------------------------------------------
    def evaluate(self, args: argparse.Namespace) -> dict[str, Any]:
        from apps.chatbot.baselines import BASELINE_NAME, baseline_metrics, load_baseline
        from apps.chatbot.data import builtin_intents, builtin_off_topic, load_intents, split
        from apps.chatbot.ensemble import IntentScorer
        from apps.chatbot.model import load_model
        from apps.chatbot.scoring import score
        from lepton_shared.registry import Registry

        info = Registry().get(self.name, args.model)
        if args.data is not None:
            frame = load_intents(args.data)
        else:  # the held-out part of the built-in data, split exactly as at training time
            import pandas as pd

            params = info.params
            per_intent = TINY_PER_INTENT if params.get("tiny") else BUILTIN_PER_INTENT
            full = pd.concat([builtin_intents(per_intent), builtin_off_topic()], ignore_index=True)
            frame = split(full, float(params.get("val_fraction", 0.1)), int(params.get("seed", 42)))[1]
        tokenizer, model, config = load_model(info.path)
        scorer = IntentScorer.load(info.path, config)
        metrics, _, _ = score(model, tokenizer, frame, float(config["oos_threshold"]), scorer)
        baseline = scorer.text_model if scorer.text_model is not None else load_baseline(info.path)
        if baseline is not None:
            metrics["baselines"] = {BASELINE_NAME: baseline_metrics(baseline, frame)}
        return {"model_version": info.version, **metrics}

    # -- serving ----------------------------------------------------------------
    def load_predictor(self, version: str | None = None) -> ChatbotPredictor:
        from apps.chatbot.predictor import ChatbotPredictor
        from lepton_shared.registry import Registry

        return ChatbotPredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.chatbot.service import create_service

        return create_service()


APP = ChatbotApp()
