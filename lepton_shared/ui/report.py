"""The served model's evaluation report on an app's page.

Every version is registered with an HTML report of its metrics against the baselines and its evaluation plots
(ROC/PR and calibration for classifiers, ranking metrics, RUL error, policy costs). Pages show that report,
fetched through :class:`AppClient` like everything else, so it is the same figure whether the page runs the
model in-process or calls the service, and it is the version that actually answers.
"""

from __future__ import annotations

from lepton_shared.ui.client import AppClient, ServiceError

#: Height of the embedded report; it scrolls inside the frame.
REPORT_HEIGHT_PX = 720


def fetch_report(client: AppClient) -> tuple[str, str] | None:
    """``(version, html)`` of the served model's report, or ``None`` when there is no model or no report."""
    try:
        resp = client.raw("GET", "/v1/model/report")
    except ServiceError as exc:
        if exc.status in (404, 503):
            return None
        raise
    return resp.headers.get("X-Model-Version", ""), resp.text


def show_model_report(client: AppClient, expanded: bool = False) -> None:
    """An expander with the report embedded and a download button; says plainly when there is none."""
    import streamlit as st
    import streamlit.components.v1 as components

    try:
        found = fetch_report(client)
    except ServiceError as exc:
        st.warning(f"Could not fetch the evaluation report: {exc}", icon=":material/warning:")
        return
    if found is None:
        st.caption("No evaluation report yet: train a model and its report appears here.")
        return
    version, html = found
    with st.expander(f":material/monitoring: Evaluation of model {version}: metrics against baselines, plots",
                     expanded=expanded):
        st.download_button("Download the report (HTML)", html, file_name=f"{client.app}-{version}-report.html",
                           mime="text/html", key=f"report-download-{client.app}")
        components.html(html, height=REPORT_HEIGHT_PX, scrolling=True)
