"""``lepton chatbot optimize``: every CPU method makes a registered version that the unchanged
predictor serves, answering like the fp32 model; fp16 without CUDA is a clear error.

The versions are made once per module from the tiny model v1, in a copy of its database (v1's
artifact is shared, read-only). ``onnx-int8`` goes through the shared runner (with its timing loops
replaced by a stub: timings are the benchmark's business); the other methods are registered the way
the runner registers them, without its before/after scoring, to keep the module within its time budget.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from apps.chatbot.optimize import ChatbotOptimizer

CPU_METHODS = ("int8", "onnx", "onnx-int8", "bf16", "prune")
RUNNER_METHOD = "onnx-int8"
# share of sample messages whose intent must match the fp32 model's (rounding may flip a close call)
AGREEMENT = {"int8": 0.8, "onnx-int8": 0.8, "onnx": 1.0, "bf16": 0.8, "prune": 0.7}


class QuickOptimizer(ChatbotOptimizer):
    fine_tune_rows: ClassVar[int] = 64  # two batches: the fine-tune runs, briefly


@pytest.fixture(scope="module")
def optimised(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """method -> {"version": ..., "size_bytes": {"before", "after"}} (plus the runner's result for RUNNER_METHOD)."""
    from lepton_shared.optimize import runner
    from lepton_shared.optimize.measure import model_bytes
    from lepton_shared.registry import Registry
    from lepton_shared.testing.env import lepton_env

    home = tmp_path_factory.mktemp("chatbot-optimize")
    shutil.copy2(trained_home / "lepton.db", home / "lepton.db")  # v1's row points at the shared artifact
    patch = pytest.MonkeyPatch()
    patch.setattr(runner, "measure_predictor",
                  lambda predictor, items, batch_size, **_: {"p50_ms": 1.0, "p99_ms": 1.0, "throughput_per_s": 1.0})
    with lepton_env(home):
        try:
            registry = Registry()
            source = registry.get("chatbot", "v1")
            out: dict[str, dict[str, Any]] = {}
            for method in CPU_METHODS:
                if method == RUNNER_METHOD:
                    out[method] = runner.optimize("chatbot", QuickOptimizer, method, version="v1", promote="never")
                    continue
                info = registry.register(
                    "chatbot", functools.partial(QuickOptimizer(source, None).write, method),
                    metrics=source.metrics, params={**source.params, "optimised_from": "v1", "method": method},
                    promote=False)
                out[method] = {"version": info.version, "promoted": False,
                               "size_bytes": {"before": model_bytes(source.path), "after": model_bytes(info.path)}}
            yield out
        finally:
            patch.undo()


@pytest.fixture(scope="module")
def samples(optimised: dict[str, dict[str, Any]]) -> tuple[list[Any], list[str]]:
    """Sample messages and the fp32 model's intents for them."""
    from lepton_shared.app import get_app
    from lepton_shared.registry import Registry

    items = ChatbotOptimizer(Registry().get("chatbot", "v1"), None).sample_items(20)
    return items, [a["intent"] for a in get_app("chatbot").load_predictor("v1").predict_batch(items)]


@pytest.mark.parametrize("method", CPU_METHODS)
def test_method_makes_a_served_version_that_answers_like_fp32(
        method: str, optimised: dict[str, dict[str, Any]], samples: tuple[list[Any], list[str]]) -> None:
    from apps.chatbot.predictor import ChatbotPredictor
    from lepton_shared.app import get_app
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    result = optimised[method]
    info = Registry().get("chatbot", result["version"])
    assert info.params["optimised_from"] == "v1" and info.params["method"] == method
    assert not result["promoted"] and info.stage == "candidate"
    record = read_optimisation(info.path)
    assert record is not None and record["method"] == method
    # the tokenizer and the ensemble's files come with it
    assert {"intent_config.json", "neighbours.npz", "baseline.npz", "faq.csv", "encoder"} <= {
        p.name for p in info.path.iterdir()}

    items, expected = samples
    predictor = get_app("chatbot").load_predictor(info.version)
    answers = predictor.predict_batch(items)
    assert all(a["model_version"] == info.version for a in answers)
    agreement = sum(a["intent"] == e for a, e in zip(answers, expected, strict=True)) / len(items)
    assert agreement >= AGREEMENT[method], (method, agreement)
    # the conversation layer's embeddings are unit vectors whatever the variant
    assert isinstance(predictor, ChatbotPredictor)
    _, embeddings = predictor.analyse([items[0].text])
    assert embeddings.shape == (1, 384) and abs(float((embeddings ** 2).sum()) - 1.0) < 1e-4


def test_runner_scores_and_gates_the_optimised_version(optimised: dict[str, dict[str, Any]]) -> None:
    from lepton_shared.registry import Registry

    result = optimised[RUNNER_METHOD]
    # the metric is accuracy as `lepton chatbot evaluate` computes it, on the built-in held-out rows
    assert result["metric"] == "accuracy"
    before, after = result["metric_value"]["before"], result["metric_value"]["after"]
    assert before == pytest.approx(Registry().get("chatbot", "v1").metrics["accuracy"], abs=1e-6)
    assert abs(after - before) <= 0.1
    stored = Registry().get("chatbot", result["version"]).metrics["optimisation"]
    assert stored["method"] == RUNNER_METHOD and stored["from_version"] == "v1"


def test_quantised_and_onnx_versions_are_smaller(optimised: dict[str, dict[str, Any]]) -> None:
    for method in ("int8", "onnx-int8"):
        size = optimised[method]["size_bytes"]
        assert size["after"] <= 0.4 * size["before"], (method, size)
    assert optimised["bf16"]["size_bytes"]["after"] <= 0.6 * optimised["bf16"]["size_bytes"]["before"]


def test_onnx_graph_gives_logits_and_embeddings(optimised: dict[str, dict[str, Any]]) -> None:
    import onnx

    from lepton_shared.registry import Registry

    info = Registry().get("chatbot", optimised["onnx"]["version"])
    record = json.loads((info.path / "optimisation.json").read_text())
    graph = onnx.load(str(info.path / record["file"]), load_external_data=False).graph
    assert [o.name for o in graph.output] == ["logits", "embeddings"]
    assert record["max_abs_logit_diff"] < 1e-3 and record["max_abs_embedding_diff"] < 1e-3


def test_pruned_version_is_sparse_and_fine_tuned(optimised: dict[str, dict[str, Any]]) -> None:
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    record = read_optimisation(Registry().get("chatbot", optimised["prune"]["version"]).path)
    assert record is not None and record["sparsity"] >= 0.25 and record["fine_tune"]
    assert 0.0 <= record["oos_threshold"] < 1.0


def test_an_optimised_version_is_not_optimised_again(optimised: dict[str, dict[str, Any]]) -> None:
    from lepton_shared.errors import UserError
    from lepton_shared.registry import Registry

    with pytest.raises(UserError, match="already optimised"):
        ChatbotOptimizer(Registry().get("chatbot", optimised["int8"]["version"]), None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_fp16_without_cuda_is_a_user_error(trained_env: Path, tmp_path: Path) -> None:
    from lepton_shared.errors import UserError
    from lepton_shared.optimize.runner import optimize
    from lepton_shared.registry import Registry

    known = [v.version for v in Registry().list("chatbot")]
    with pytest.raises(UserError, match="fp16 needs a CUDA GPU"):
        optimize("chatbot", ChatbotOptimizer, "fp16", version="v1")
    with pytest.raises(UserError, match="fp16 needs a CUDA GPU"):  # the app refuses it too, before any work
        ChatbotOptimizer(Registry().get("chatbot", "v1"), None).write("fp16", tmp_path)
    assert not any(tmp_path.iterdir())
    assert [v.version for v in Registry().list("chatbot")] == known
