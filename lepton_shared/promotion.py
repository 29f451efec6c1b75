"""The promotion gate: when a new model version may replace production. One rule for ``train``,
``optimize`` and ``lepton models promote``.

``promote="gate"`` (the default) lets a version become production only when both hold:

1. **it beats the app's simple baseline**: its key metric (the manifest's ``key_metric``, in the
   direction of ``higher_is_better``) is strictly better than the best baseline's recorded beside it
   (``metrics["baselines"][name][key_metric]``, which every app's training scores on the same held-out
   rows as the model). When training recorded no baseline (too little data to fit one) the check is
   skipped and the reason says so;
2. **it is no worse than production by more than the tolerance** (the manifest's ``tolerance``, absolute,
   in the key metric's units), compared on the same evaluation data. Every app's training scores a
   held-out split that follows from its data and its seed, so two versions trained on data with the same
   fingerprint and with the same seed were scored on the same rows, and their registered metrics are
   compared as they are, without scoring production again. When the data (or the seed) differ the
   registered numbers are not comparable: only the baseline check applies, and the reason says so.

``"always"`` and ``"never"`` override the decision; the reason still says what the gate found.
``optimize`` measures both versions itself and uses :func:`gate` (rule 2 on its own numbers).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lepton_shared.errors import NotReadyError, UserError
from lepton_shared.registry import Gate, ModelInfo, Registry, metric_value

PROMOTE_CHOICES = ("gate", "always", "never")
#: Largest acceptable loss of the key metric unless the app's manifest says otherwise: one point (0.01) of an
#: accuracy-like metric or AUC.
DEFAULT_TOLERANCE = 0.01


def check_promote(promote: str) -> None:
    if promote not in PROMOTE_CHOICES:
        raise UserError(f"--promote must be one of {', '.join(PROMOTE_CHOICES)}, not {promote!r}")


def check_tolerance(tolerance: float | None, default: float = DEFAULT_TOLERANCE) -> float:
    """The tolerance to use: ``tolerance``, or ``default`` (the app manifest's ``tolerance``) when None; a
    UserError when invalid."""
    if tolerance is None:
        return default
    if not math.isfinite(tolerance) or tolerance < 0:
        raise UserError(f"--tolerance must be a number >= 0, not {tolerance}")
    return float(tolerance)


def metric_drop(before: float, after: float, higher_better: bool) -> float:
    """How much worse ``after`` is than ``before`` (negative when it improved)."""
    return (before - after) if higher_better else (after - before)


def compare(before: float, after: float, tolerance: float, higher_better: bool, metric: str) -> tuple[bool, str]:
    """(within the tolerance?, what happened) for a key metric that went from ``before`` to ``after``."""
    drop = metric_drop(before, after, higher_better)
    if not (math.isfinite(before) and math.isfinite(after)):
        return False, f"{metric} could not be compared ({before} -> {after})"
    if drop > tolerance:
        return False, (f"{metric} got worse by {drop:.4f} ({before:.4f} -> {after:.4f}), "
                       f"more than the tolerance {tolerance:g}")
    return True, f"{metric} {before:.4f} -> {after:.4f} is within the tolerance {tolerance:g}"


def _overridden(passed: bool, detail: str, promote: str) -> tuple[bool, str]:
    if promote == "always":
        return True, f"promoted because --promote always was given; {detail}"
    if promote == "never":
        return False, f"left a candidate because --promote never was given; {detail}"
    if passed:
        return True, f"promoted: {detail}"
    return False, f"left a candidate: {detail}"


def gate(before: float, after: float, tolerance: float, higher_better: bool, promote: str,
         metric: str) -> tuple[bool, str]:
    """(promote?, reason) for a key metric that went from ``before`` to ``after`` (``optimize``'s gate)."""
    check_promote(promote)
    return _overridden(*compare(before, after, tolerance, higher_better, metric), promote)


@dataclass(frozen=True)
class Decision:
    """What the gate found (``passed``, ``detail``) and what happens (``promote``, ``reason``)."""

    passed: bool
    detail: str
    promote: bool
    reason: str


def best_baseline(metrics: dict[str, Any], key_metric: str, higher_is_better: bool) -> tuple[str, float] | None:
    """(name, key metric) of the strongest baseline recorded in ``metrics["baselines"]``, or None."""
    baselines = metrics.get("baselines")
    if not isinstance(baselines, dict):
        return None
    scored = [(name, value) for name, values in baselines.items()
              if isinstance(values, dict) and (value := metric_value(values, key_metric)) is not None]
    if not scored:
        return None
    pick = max if higher_is_better else min
    return pick(scored, key=lambda item: item[1])


def data_difference(candidate: ModelInfo, production: ModelInfo) -> str | None:
    """Why the two versions' registered metrics are not on the same evaluation data, or None when they are."""
    if not candidate.data_fingerprint or candidate.data_fingerprint != production.data_fingerprint:
        return (f"data differ (fingerprint {candidate.data_fingerprint or 'none'} against "
                f"{production.data_fingerprint or 'none'})")
    seeds = candidate.params.get("seed"), production.params.get("seed")
    if None not in seeds and seeds[0] != seeds[1]:
        return f"held-out splits differ (seed {seeds[0]} against {seeds[1]})"
    return None


def _baseline_check(value: float, metrics: dict[str, Any], key_metric: str, higher: bool) -> tuple[bool, str]:
    best = best_baseline(metrics, key_metric, higher)
    if best is None:
        return True, "no baseline was recorded to compare with"
    name, reference = best
    beats = value > reference if higher else value < reference
    verb = "beats" if beats else "does not beat"
    return beats, f"{key_metric} {value:.4f} {verb} the baseline {name} ({reference:.4f})"


def _production_check(value: float, candidate: ModelInfo, production: ModelInfo | None, key_metric: str,
                      higher: bool, tolerance: float) -> tuple[bool, str]:
    if production is None:
        return True, "no production version yet, so only the baseline check applies"
    if production.version == candidate.version:
        return True, f"{candidate.version} is already production"
    reference = metric_value(production.metrics, key_metric)
    if reference is None:
        return True, f"production {production.version} has no {key_metric}, so only the baseline check applies"
    differ = data_difference(candidate, production)
    if differ:
        return True, f"not compared with production {production.version}: {differ}, so only the baseline check applies"
    within, detail = compare(reference, value, tolerance, higher, key_metric)
    return within, f"against production {production.version} on the same data (registered metrics): {detail}"


def decide(candidate: ModelInfo, production: ModelInfo | None, key_metric: str, higher_is_better: bool,
           promote: str = "gate", tolerance: float | None = None) -> Decision:
    """The gate's decision on ``candidate`` given the current ``production`` version (None when there is none)."""
    check_promote(promote)
    tol = check_tolerance(tolerance)
    value = metric_value(candidate.metrics, key_metric)
    if value is None:
        checks = [(False, f"{candidate.version} has no {key_metric} to compare")]
    else:
        checks = [_baseline_check(value, candidate.metrics, key_metric, higher_is_better),
                  _production_check(value, candidate, production, key_metric, higher_is_better, tol)]
    passed = all(ok for ok, _ in checks)
    detail = "; ".join(text for _, text in checks)
    promoted, reason = _overridden(passed, detail, promote)
    return Decision(passed=passed, detail=detail, promote=promoted, reason=reason)


def training_gate(app: str, promote: str = "gate", tolerance: float | None = None) -> Gate:
    """The :data:`~lepton_shared.registry.Gate` ``train`` registers with; it prints its reason in one line."""
    from lepton_shared.manifest import get_manifest

    check_promote(promote)
    check_tolerance(tolerance)
    manifest = get_manifest(app)

    def decide_and_say(candidate: ModelInfo, production: ModelInfo | None) -> tuple[bool, str]:
        decision = decide(candidate, production, manifest.key_metric, manifest.higher_is_better, promote,
                          manifest.tolerance if tolerance is None else tolerance)
        print(f"{app} {candidate.version} {decision.reason}", file=sys.stderr, flush=True)
        return decision.promote, decision.reason

    return decide_and_say


def register_trained(app: str, write: Callable[[Path], None], metrics: dict[str, Any], params: dict[str, Any],
                     data_fingerprint: str, promote: str = "gate", tolerance: float | None = None) -> ModelInfo:
    """Register a newly trained version; it becomes production only as ``promote`` and the gate say."""
    return Registry().register(app, write, metrics=metrics, params=params, data_fingerprint=data_fingerprint,
                               promote=training_gate(app, promote, tolerance))


def promote_version(app: str, version: str, force: bool = False, reason: str = "",
                    actor: str | None = None) -> tuple[ModelInfo, str]:
    """``lepton models promote``: make ``version`` production if it passes the gate, or if forced with a reason.

    Returns the promoted version and one line saying what happened.
    """
    from lepton_shared.manifest import get_manifest

    manifest = get_manifest(app)
    registry = Registry()
    target = registry.get(app, version)
    try:
        production: ModelInfo | None = registry.get(app)
    except NotReadyError:
        production = None
    decision = decide(target, production, manifest.key_metric, manifest.higher_is_better,
                      tolerance=manifest.tolerance)
    if decision.passed:
        recorded = f"{reason} (gate: {decision.detail})" if reason else f"promoted by hand: {decision.detail}"
    elif not force:
        raise UserError(f"{app} {version} fails the promotion gate: {decision.detail}; "
                        "to promote it anyway add --force --reason TEXT")
    elif not reason.strip():
        raise UserError("--force needs --reason TEXT: why this version should be production despite the gate")
    else:
        recorded = f"forced: {reason} (gate: {decision.detail})"
    info = registry.promote(app, version, reason=recorded, actor=actor)
    return info, f"{app} {info.version} is now production ({recorded})"
