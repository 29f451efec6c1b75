"""Streamlit page: upload a study, see the heat-map overlay and the decision, review the worklist.

Talks to the imaging service when ``LEPTON_IMAGING_URL`` is set, otherwise runs
the model in-process against the local LEPTON_HOME.
"""

from __future__ import annotations

import base64
from typing import Any

import pandas as pd
import streamlit as st

from apps.imaging.manifest import MANIFEST
from lepton_shared.ui import call_service, service_url

APP_NAME = "imaging"


# -- one backend, two ways ---------------------------------------------------
@st.cache_resource(show_spinner="loading the imaging model…")
def _predictor(version: str) -> Any:
    from apps.imaging.app import APP

    return APP.load_predictor(version)


def _production_version() -> str | None:
    from lepton_shared.errors import UserError
    from lepton_shared.registry import Registry

    try:
        return Registry().get(APP_NAME).version
    except UserError:
        return None


def model_version() -> str | None:
    if service_url(APP_NAME):
        try:
            body = call_service(APP_NAME, "GET", "/readyz")
            return str(body.get("model_version"))
        except RuntimeError:
            return None
    return _production_version()


def diagnose(data: bytes, name: str) -> dict[str, Any]:
    if service_url(APP_NAME):
        return dict(call_service(APP_NAME, "POST", "/v1/diagnose", files={"file": (name, data)}))
    from apps.imaging.storage import record_study

    version = _production_version()
    if version is None:
        raise RuntimeError("no imaging model is trained yet")
    result = _predictor(version).diagnose(data, name)
    result["study_id"] = record_study(result)["id"]
    return dict(result)


def studies() -> list[dict[str, Any]]:
    if service_url(APP_NAME):
        return list(call_service(APP_NAME, "GET", "/v1/studies"))
    from apps.imaging.storage import list_studies

    return list_studies()


def review(study_id: int, reviewer: str, confirmed: bool, label: str | None, note: str) -> dict[str, Any]:
    body = {"reviewer": reviewer, "confirmed": confirmed, "label": label, "note": note or None}
    if service_url(APP_NAME):
        return dict(call_service(APP_NAME, "POST", f"/v1/studies/{study_id}/review", json=body))
    from apps.imaging.storage import review_study

    return review_study(study_id, reviewer, confirmed, label, note or None)


def train_small() -> str:
    from apps.imaging.app import APP
    from lepton_shared.cli.main import build_parser

    args = build_parser(APP_NAME).parse_args([APP_NAME, "train", "--builtin-images", "160", "--epochs", "3"])
    return APP.train(args).version


# -- page ----------------------------------------------------------------------
def show_result(result: dict[str, Any]) -> None:
    left, right = st.columns([1, 1])
    with left:
        st.image(base64.b64decode(result["heatmap_png_base64"]), caption="Grad-CAM overlay (red: evidence for "
                 "the positive class)", width=320)
    with right:
        positive = float(result["positive_probability"])
        threshold = float(result["threshold"])
        st.markdown(f"### Decision: **{result['label']}**")
        st.caption(f"positive-class probability {positive:.3f} vs operating threshold {threshold:.3f} "
                   f"(chosen for the target sensitivity) · model {result['model_version']} · "
                   f"study #{result.get('study_id', '-')}")
        probs = pd.DataFrame({"probability": result["probabilities"]})
        st.bar_chart(probs, horizontal=True, height=160)
        if result.get("study_uid"):
            st.caption(f"DICOM study {result['study_uid']} · patient (hashed) {result.get('patient_hash')}")
        from apps.imaging.report import study_report_html

        report = study_report_html({**result, "id": result.get("study_id")}, result["heatmap_png_base64"])
        st.download_button("Download study report (HTML)", report, file_name=f"study-{result.get('study_id')}.html",
                           mime="text/html")


def main() -> None:
    st.set_page_config(page_title="Lepton · Imaging", layout="wide")
    st.title(f"{MANIFEST.title}: diagnosis with heat maps")
    st.caption("Upload a PNG/JPEG, DICOM or NIfTI image. The model gives calibrated probabilities, a decision at "
               "its operating threshold and a Grad-CAM heat map; every study lands on the worklist for review.")
    version = model_version()
    if version is None:
        if service_url(APP_NAME):
            st.warning("The imaging service has no model loaded (or is not reachable). Train one with "
                       "`lepton imaging train`, then reload the service.")
            return
        st.info("No imaging model is trained yet. Train a small one on the built-in synthetic images "
                "(about a minute), or run `lepton imaging train` for the full default.")
        if st.button("Train a small model on built-in data"):
            with st.spinner("training on synthetic images…"):
                new_version = train_small()
            st.success(f"model {new_version} trained")
            st.rerun()
        return
    st.sidebar.markdown(f"**Model:** {version}")
    st.sidebar.markdown("**Backend:** " + (f"service {service_url(APP_NAME)}" if service_url(APP_NAME)
                                           else "in-process"))

    tab_diag, tab_work = st.tabs(["Diagnose", "Worklist"])
    with tab_diag:
        upload = st.file_uploader("Study image", type=None, help="PNG, JPEG, DICOM (.dcm), NIfTI (.nii, .nii.gz)")
        if upload is not None:
            key = f"{upload.name}:{upload.size}"
            if st.session_state.get("result_key") != key:
                try:
                    st.session_state["result"] = diagnose(upload.getvalue(), upload.name)
                    st.session_state["result_key"] = key
                    st.session_state.pop("error", None)
                except Exception as exc:
                    st.session_state["error"] = str(exc)
                    st.session_state["result_key"] = key
                    st.session_state.pop("result", None)
            if st.session_state.get("error"):
                st.error(f"Could not diagnose {upload.name}: {st.session_state['error']}")
            elif st.session_state.get("result"):
                show_result(st.session_state["result"])
    with tab_work:
        rows = studies()
        if not rows:
            st.info("No studies yet: diagnose one first.")
        else:
            frame = pd.DataFrame(rows)[["id", "created_at", "label", "positive_probability", "threshold",
                                        "review_status", "reviewed_label", "reviewer", "model_version", "format"]]
            st.dataframe(frame, hide_index=True, use_container_width=True)
            with st.form("review"):
                st.markdown("**Review a study**")
                ids = [r["id"] for r in rows]
                study_id = st.selectbox("Study", ids)
                labels = list((next(r for r in rows if r["id"] == study_id).get("probabilities") or {}).keys())
                reviewer = st.text_input("Reviewer")
                verdict = st.radio("Verdict", ["confirm the model's label", "correct it"], horizontal=True)
                label = st.selectbox("Correct label", labels) if labels else None
                note = st.text_input("Note (optional)")
                if st.form_submit_button("Save review"):
                    try:
                        saved = review(int(study_id), reviewer, verdict.startswith("confirm"), label, note)
                        st.success(f"study {saved['id']}: {saved['review_status']} ({saved['reviewed_label']})")
                    except Exception as exc:
                        st.error(f"Could not save the review: {exc}")


main()
