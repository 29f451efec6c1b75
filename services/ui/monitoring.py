"""The suite's Monitoring page: ``lepton monitor`` for one app, with its traffic over time."""

from __future__ import annotations

from typing import Any

import streamlit as st

WINDOWS = ("1h", "6h", "24h", "7d")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _drift_rows(drift: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"watched": name, **d} for name, d in drift["features"].items()]
    if drift["prediction"] is not None:
        rows.append({"watched": "prediction", **drift["prediction"]})
    return rows


def monitoring_page() -> None:
    """Requests, errors, latency, drift against the production version's reference, live quality and alerts."""
    from lepton_shared.app import available_apps
    from lepton_shared.errors import UserError
    from lepton_shared.monitoring.report import monitor_report, timeline

    st.title("Monitoring", anchor=False)
    st.write("How each app's service has been doing: its traffic, and whether the requests still look like the "
             "data its production model was tested on. Thresholds: docs/guide-ops.md.")
    apps = available_apps()
    left, right = st.columns(2)
    app = left.selectbox("App", apps, key="monitor-app")
    since = right.selectbox("Window", WINDOWS, index=WINDOWS.index("24h"), key="monitor-window")
    if app is None:
        st.info("No app is installed.")
        return
    try:
        report = monitor_report(app, since)
    except UserError as exc:
        st.warning(str(exc))
        return
    for alert in report["alerts"]:
        st.error(alert, icon=":material/warning:")
    if not report["alerts"]:
        st.success("No alerts in this window.", icon=":material/check_circle:")
    a, b, c, d = st.columns(4)
    a.metric("Requests", report["requests"])
    b.metric("Error rate", _percent(report["error_rate"]))
    c.metric("Latency p50", "-" if report["latency_ms"]["p50"] is None else f"{report['latency_ms']['p50']:.1f} ms")
    d.metric("Latency p99", "-" if report["latency_ms"]["p99"] is None else f"{report['latency_ms']['p99']:.1f} ms")
    st.subheader("Drift", anchor=False)
    for note in report["notes"]:
        st.info(note, icon=":material/info:")
    rows = _drift_rows(report["drift"])
    if rows:
        st.dataframe(rows, hide_index=True, key="monitor-drift")
    st.subheader("Live quality", anchor=False)
    if report["live_quality"]:
        st.json(report["live_quality"])
    else:
        st.caption("No labels came back in this window (or this app gets none).")
    st.subheader("Over time", anchor=False)
    points = timeline(app, since)
    if points:
        import pandas as pd

        frame = pd.DataFrame(points).set_index("time")
        st.line_chart(frame[["requests"]])
        st.line_chart(frame[["error_rate", "p50_ms"]])
    else:
        st.caption("No requests in this window.")
