"""``lepton models shadow <app> <version>``: replay logged production inputs through another version, offline.

The prediction log keeps each answer's model input (``prediction_log.model_input``, see
``lepton_shared.serving.prediction_log.kept_input``). Replaying the newest of them through a candidate says,
before it serves anyone, how often it would have answered as the logged answer did (``agreement``, on the app
monitor's :meth:`~AppMonitor.answer`), how its answers and predictions are spread beside the logged ones, and,
on the requests whose labels came back (the sources of the monitor's live quality), how each metric would move
(``metric_deltas``: candidate minus logged). Nothing is written and nothing is sent to the service.

A window with no replayable input is not an error: the report says ``replayed: 0`` with a ``message``, exit 0.
An unknown version is (a one-line error).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lepton_shared.errors import UserError
from lepton_shared.monitoring.answers import logged_answers
from lepton_shared.monitoring.appmonitor import AppMonitor, ReplaySkipped, app_monitor
from lepton_shared.monitoring.profile import feature_profile
from lepton_shared.monitoring.report import DEFAULT_SINCE, parse_duration

DEFAULT_LIMIT = 1000
NOT_LOGGED = "input not logged (LEPTON_LOG_INPUTS off, or logged before inputs were kept)"


def distribution(values: Iterable[Any]) -> dict[str, Any] | None:
    """Counts of categorical answers, or the count and quantiles of numeric ones (the profile's summaries)."""
    profile = feature_profile(values)
    if profile is None:
        return None
    return {"n": profile.n, "counts": profile.counts} if profile.kind == "categorical" else \
        {"n": profile.n, "quantiles": profile.quantiles}


def agreement(monitor: AppMonitor, logged: Sequence[Mapping[str, Any]],
              replayed: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of requests on which both answers agree (None without any)."""
    if not logged:
        return None
    same = sum(monitor.answer(a) == monitor.answer(b) for a, b in zip(logged, replayed, strict=True))
    return round(same / len(logged), 4)


def metric_deltas(monitor: AppMonitor, logged: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]],
                  labels: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Each metric of the monitor's :meth:`~AppMonitor.replay_metrics` for the logged answers and the replayed
    ones on the same labelled requests, and the difference (replayed minus logged)."""
    kept = [i for i, y in enumerate(labels) if y is not None]
    if not kept:
        return {}
    ys = [labels[i] for i in kept]
    before = monitor.replay_metrics([logged[i] for i in kept], ys)
    after = monitor.replay_metrics([replayed[i] for i in kept], ys)
    out = {}
    for name in before.keys() & after.keys():
        b, a = before[name], after[name]
        out[name] = {"production": round(b, 4), "candidate": round(a, 4), "delta": round(a - b, 4),
                     "labelled": len(kept)}
    return dict(sorted(out.items()))


def replay(monitor: AppMonitor, rows: Sequence[Any], load: Any) -> tuple[list[Any], list[dict[str, Any]], Counter[str]]:
    """Replay ``rows`` through the predictor ``load()`` returns (loaded at the first replayable row): the rows
    replayed, their new answers, and the count of each reason a row was skipped."""
    skipped: Counter[str] = Counter()
    kept: list[Any] = []
    answers: list[dict[str, Any]] = []
    predictor = None
    for row in rows:
        logged = row.model_input
        if not logged or "input" not in logged:
            skipped[str(logged.get("skipped", NOT_LOGGED)) if logged else NOT_LOGGED] += 1
            continue
        if predictor is None:
            predictor = load()
        try:
            answers.append(monitor.replay_input(predictor, logged["input"]))
        except ReplaySkipped as exc:
            skipped[str(exc)] += 1
            continue
        except UserError as exc:  # the version refuses an input production took (a sensor it lacks)
            skipped[f"refused by this version: {exc}"] += 1
            continue
        kept.append(row)
    return kept, answers, skipped


def shadow_report(app_name: str, version: str, since: str = DEFAULT_SINCE, limit: int = DEFAULT_LIMIT,
                  database_url: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The report ``lepton models shadow <app> <version> --json`` prints."""
    from lepton_shared.app import get_app
    from lepton_shared.registry import Registry
    from lepton_shared.storage.models import as_utc

    if limit < 1:
        raise UserError(f"--limit must be at least 1, not {limit}")
    monitor = app_monitor(app_name)
    if monitor is None:
        raise UserError(f"the {app_name} app has no monitor (apps/{app_name}/monitoring.py): nothing to replay")
    start = (now or datetime.now(UTC)) - parse_duration(since)
    registry = Registry(database_url=database_url)
    registry.get(app_name, version)  # an unknown version or missing files: one line, before any work
    rows = logged_answers(app_name, monitor.endpoints, start, limit, database_url)
    kept, answers, skipped = replay(monitor, rows, lambda: get_app(app_name).load_predictor(version))
    logged = [r.output for r in kept]
    labels = monitor.replay_labels(logged, database_url, [as_utc(r.created_at) for r in kept]) if kept else []
    report: dict[str, Any] = {
        "app": app_name, "version": version, "production_version": registry.production_version(app_name),
        "since": start.isoformat(), "logged": len(rows), "replayed": len(kept),
        "skipped": dict(skipped.most_common()), "answered_by": dict(Counter(r.model_version for r in kept)),
        "agreement": agreement(monitor, logged, answers),
        "answers": {"production": distribution(monitor.answer(o) for o in logged),
                    "candidate": distribution(monitor.answer(o) for o in answers)},
        "predictions": {"production": distribution(monitor.prediction(o) for o in logged),
                        "candidate": distribution(monitor.prediction(o) for o in answers)},
        "metric_deltas": metric_deltas(monitor, logged, answers, labels),
    }
    if not kept:
        report["message"] = (f"no logged {app_name} input to replay since {start:%Y-%m-%d %H:%M} UTC"
                             + (f" ({len(rows)} requests skipped)" if rows else "")
                             + ": serve traffic with LEPTON_LOG_INPUTS on, or widen --since")
    return report


def summary(report: Mapping[str, Any]) -> str:
    """The report as a few readable lines."""
    if report.get("message"):
        return report["message"]
    lines = [f"{report['app']} {report['version']} replayed on {report['replayed']} logged requests since "
             f"{report['since']} (production: {report['production_version'] or 'none'}): agreement "
             f"{report['agreement']}"]
    lines += [f"  skipped {n}: {reason}" for reason, n in report["skipped"].items()]
    for name, d in report["metric_deltas"].items():
        lines.append(f"  {name}: {d['production']} -> {d['candidate']} ({d['delta']:+}) on {d['labelled']} labels")
    if not report["metric_deltas"]:
        lines.append("  no labels came back for these requests: no metric deltas")
    return "\n".join(lines)
