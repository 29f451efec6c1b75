"""The forms the RUL nets of a maintenance artifact can take, and how each is rebuilt from its files.

A plain ``rul/`` folder holds every member's fp32 ``state_dict`` (``members.pt``). ``lepton maintenance
optimize`` writes the others and names the form in ``rul/spec.json`` (key ``variant``), so
:meth:`apps.maintenance.model.RulEnsemble.load`, and through it the predictor, ``evaluate``, the
policies and the service, use them without change:

========== ==================== ===========================================================================
method     file                 the members at inference
========== ==================== ===========================================================================
int8       ``members_int8.pt``  dynamic int8 Linear layers (``torch.ao``); the convolutions stay fp32
onnx       ``members.onnx``     every member in one graph on ONNX Runtime: one call per batch, not one per net
onnx-int8  ``members.onnx``     that graph statically quantised (QDQ) by ONNX Runtime, calibrated on windows
bf16       ``members.pt``       the members' weights in bfloat16; windows cast in, estimates out as float32
prune      ``members.pt``       ordinary fp32 members with a share of their weights zero, fine-tuned
========== ==================== ===========================================================================

Every form maps float32 windows ``(N, W, C)`` to float32 estimates ``(members, N)`` in units of the cap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

FP32_FILE = "members.pt"
INT8_FILE = "members_int8.pt"
ONNX_FILE = "members.onnx"
#: The methods whose members are float PyTorch nets stored as state dicts in ``members.pt``.
STATE_DICT_METHODS = ("fp32", "prune", "bf16")


class StackedMembers(nn.Module):
    """The ensemble's nets as one module, ``(N, W, C) -> (members, N)``: the graph exported to ONNX, and the
    fp32 path itself, so every form answers through the same call."""

    def __init__(self, members: list[nn.Module], dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        return torch.stack([m(x) for m in self.members]).float()


def quantize_members(members: list[nn.Module]) -> list[nn.Module]:
    """Each member with its Linear layers dynamically quantised to int8 (CPU, eval mode)."""
    from lepton_shared.optimize.methods import quantize_dynamic_int8

    return [quantize_dynamic_int8(m) for m in members]


def load_members(folder: Path, variant: dict[str, Any], build: Any, count: int | None = None) -> nn.Module:
    """The stacked members of ``folder`` in the form ``variant`` names (``{}`` for plain fp32).

    ``build()`` makes one untrained member of the artifact's architecture; ``count`` is how many members
    an int8 file holds (its quantised state dicts need quantised skeletons to load into).
    """
    from lepton_shared.errors import UserError

    method = str(variant.get("method", "fp32"))
    if method in ("onnx", "onnx-int8"):
        from lepton_shared.optimize.methods import OnnxModule

        return OnnxModule(folder / str(variant.get("file", ONNX_FILE)))
    if method == "int8":
        states = torch.load(folder / INT8_FILE, map_location="cpu", weights_only=True)
        members = quantize_members([build() for _ in range(count or len(states))])
        for net, state in zip(members, states, strict=True):
            net.load_state_dict(state)
        return StackedMembers(members).eval()
    if method in STATE_DICT_METHODS:
        states = torch.load(folder / FP32_FILE, map_location="cpu", weights_only=True)
        dtype = torch.bfloat16 if method == "bf16" else torch.float32
        members = []
        for state in states:
            net = build().to(dtype)
            net.load_state_dict(state)
            members.append(net.eval())
        return StackedMembers(members, dtype).eval()
    raise UserError(f"{folder} holds RUL nets optimised with {method!r}, which this version of the maintenance "
                    "app cannot load")
