"""The shared, library-backed transforms on tiny networks: int8, pruning, ONNX, ONNX int8, bf16/fp16."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lepton_shared.errors import UserError
from lepton_shared.optimize import (
    folder_bytes,
    latency_ms,
    model_bytes,
    read_optimisation,
    throughput_per_s,
    write_optimisation,
)
from lepton_shared.optimize.methods import (
    OnnxModule,
    cast_module,
    export_onnx,
    make_pruning_permanent,
    prune_magnitude,
    quantize_dynamic_int8,
    quantize_onnx_int8,
    quantize_onnx_static,
    sparsity,
)
from lepton_shared.registry import ModelInfo


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()


def cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 2)).eval()


def test_dynamic_int8_close_to_fp32() -> None:
    model, x = mlp(), torch.randn(8, 16)
    quantized = quantize_dynamic_int8(model)
    assert isinstance(quantized, nn.Sequential)
    assert isinstance(quantized[0], torch.ao.nn.quantized.dynamic.Linear)
    with torch.no_grad():
        assert torch.allclose(quantized(x), model(x), atol=0.05)


def test_dynamic_int8_quantises_embeddings() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(24, 3)).eval()
    ids = torch.randint(0, 50, (5, 3))
    quantized = quantize_dynamic_int8(model)
    assert isinstance(quantized, nn.Sequential)
    assert isinstance(quantized[0], torch.ao.nn.quantized.Embedding)
    assert isinstance(quantized[2], torch.ao.nn.quantized.dynamic.Linear)
    with torch.no_grad():
        assert torch.allclose(quantized(ids), model(ids), atol=0.05)


@pytest.mark.parametrize("structured", [False, True])
def test_pruning_zeroes_the_asked_share(structured: bool) -> None:
    model = mlp()
    prune_magnitude(model, 0.5, structured=structured)
    assert not any(hasattr(m, "weight_orig") for m in model.modules())  # made permanent
    assert sparsity(model) == pytest.approx(0.5, abs=0.02)
    if structured:  # whole output rows of each layer
        first = model[0]
        assert isinstance(first, nn.Linear)
        weight = first.weight
        rows = int((weight.abs().sum(dim=1) == 0).sum())
        assert rows == 16


def test_pruning_masks_hold_during_fine_tune_then_fold() -> None:
    model = mlp()
    prune_magnitude(model, 0.3, permanent=False)
    model(torch.randn(4, 16)).sum().backward()
    with torch.no_grad():  # one plain gradient step: the masks keep pruned weights at zero
        for param in model.parameters():
            assert param.grad is not None
            param.sub_(0.1 * param.grad)
    make_pruning_permanent(model)
    assert sparsity(model) == pytest.approx(0.3, abs=0.02)


def test_pruning_refuses_a_bad_amount() -> None:
    with pytest.raises(UserError):
        prune_magnitude(mlp(), 1.5)


def test_onnx_matches_torch_and_int8_runs(tmp_path: Path) -> None:
    model, x = mlp(), torch.randn(5, 16)
    path = tmp_path / "m.onnx"
    export_onnx(model, (torch.zeros(2, 16),), path, ["x"], ["y"], {"x": {0: "batch"}, "y": {0: "batch"}})
    runner = OnnxModule(path, threads=1)
    with torch.no_grad():
        expected = model(x)
    out = runner(x)
    assert isinstance(out, torch.Tensor) and out.shape == (5, 4)
    assert torch.allclose(out, expected, atol=1e-5)
    assert list(runner.parameters()) == [] and runner.to("cpu") is runner
    quantize_onnx_int8(path, tmp_path / "q.onnx")
    assert torch.allclose(OnnxModule(tmp_path / "q.onnx", threads=1)(x), expected, atol=0.2)


def test_onnx_static_int8_of_a_cnn(tmp_path: Path) -> None:
    model, x = cnn(), torch.rand(3, 1, 8, 8)
    export_onnx(model, (torch.zeros(2, 1, 8, 8),), tmp_path / "c.onnx", ["images"], ["logits"],
                {"images": {0: "batch"}, "logits": {0: "batch"}})
    feeds = ({"images": np.random.default_rng(i).random((4, 1, 8, 8), dtype=np.float32)} for i in range(3))
    quantize_onnx_static(tmp_path / "c.onnx", tmp_path / "cq.onnx", feeds)
    with torch.no_grad():
        assert torch.allclose(OnnxModule(tmp_path / "cq.onnx", threads=1)(x), model(x), atol=0.1)


def test_bf16_casts_and_fp16_refuses_without_cuda() -> None:
    model = mlp()
    assert cast_module(model, "bf16") is model
    assert model[0].weight.dtype == torch.bfloat16
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            cast_module(mlp(), "fp16")
    with pytest.raises(UserError):
        cast_module(mlp(), "fp8")


def test_measurements(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 23)
    assert folder_bytes(tmp_path) == 123
    (tmp_path / "report.html").write_bytes(b"r" * 1000)
    (tmp_path / "sub" / "report.html").write_bytes(b"r" * 7)
    assert model_bytes(tmp_path) == 130  # the top-level report describes the model; a model's own file counts
    calls: list[int] = []
    p50, p99 = latency_ms(lambda: calls.append(1), repeats=10, warmup=2)
    assert len(calls) == 12 and 0 <= p50 <= p99
    assert throughput_per_s(lambda: None, batch_size=8, min_seconds=0.01) > 0


def test_optimisation_record(tmp_path: Path) -> None:
    assert read_optimisation(tmp_path) is None
    source = ModelInfo(app="demo", version="v3", path=tmp_path, stage="production")
    write_optimisation(tmp_path, "int8", source, backend="x")
    assert read_optimisation(tmp_path) == {"method": "int8", "optimised_from": "v3", "source_path": str(tmp_path),
                                           "backend": "x"}
    with pytest.raises(ValueError):
        write_optimisation(tmp_path, "int4", source)
