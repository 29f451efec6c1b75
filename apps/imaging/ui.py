"""Streamlit page: try an example study or upload one, see the heat-map overlay and the decision, review the
worklist.

Everything goes through ``AppClient``: the imaging service at ``LEPTON_IMAGING_URL``, or the same service
in this process, so the page offers the same features both ways. Run it with ``lepton imaging ui``.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pandas as pd
import streamlit as st

from apps.imaging.data import ExampleStudy, example_studies
from apps.imaging.manifest import MANIFEST
from apps.imaging.report import study_report_html
from lepton_shared.ui import AppClient, ServiceError
from lepton_shared.ui.examples import Example, pick_example
from lepton_shared.ui.report import show_model_report
from lepton_shared.ui.studies import studies_section

APP = MANIFEST.name
#: what the page catches from a call: the service's refusal, or no answer at all
FAILURES = (ServiceError, httpx.HTTPError)
WORKLIST_COLUMNS = ["id", "created_at", "label", "positive_probability", "threshold", "review_status",
                    "reviewed_label", "reviewer", "model_version", "format"]

client = AppClient(APP)


def serving_model() -> tuple[dict[str, Any] | None, str]:
    """The service's model (version, class names, threshold), or None and why not."""
    try:
        return client.get("/v1/model"), ""
    except ServiceError as exc:
        return None, str(exc)
    except httpx.HTTPError as exc:
        return None, f"the imaging service at {client.url} does not answer ({exc.__class__.__name__})"


def train_small_model() -> str:
    """Train on built-in synthetic images in this process, then have the service load the new version
    (made production whatever the promotion gate says: the page has no model to show otherwise)."""
    from apps.imaging.config import ImagingTrainConfig
    from apps.imaging.training import train

    info = train(ImagingTrainConfig(builtin_images=160, epochs=3, promote="always"))
    loaded = client.post("/v1/admin/reload")["model_version"]
    if loaded != info.version:
        raise RuntimeError(f"model {info.version} was trained here, but the service at {client.url} loaded "
                           f"{loaded}: it reads another model registry; run `lepton imaging train` where it runs")
    return info.version


def no_model(problem: str) -> None:
    st.info(f"No imaging model is trained yet ({problem}). Train a small one on the built-in synthetic images "
            "(about a minute), or run `lepton imaging train` for the full default.")
    if client.remote:
        st.caption(f"The model is trained in this process's LEPTON_HOME, then the service at {client.url} is "
                   "asked to reload it (this works when both read the same model registry).")
    if st.button("Train a small model on built-in data"):
        with st.spinner("training on synthetic images…"):
            try:
                version = train_small_model()
            except (*FAILURES, RuntimeError) as exc:
                st.error(str(exc))
                return
        st.success(f"model {version} trained")
        st.rerun()


def show_result(result: dict[str, Any], key: str = "upload") -> None:
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
        # the service's answer, laid out as a report with its heat map (the stored study has no pixels)
        report = study_report_html({**result, "id": result.get("study_id")}, result["heatmap_png_base64"])
        st.download_button("Download study report (HTML)", report, file_name=f"study-{result.get('study_id')}.html",
                           mime="text/html", key=f"study-report-{key}")


def diagnose_tab() -> None:
    upload = st.file_uploader("Study image", type=None, help="PNG, JPEG, DICOM (.dcm), NIfTI (.nii, .nii.gz)")
    if upload is None:
        return
    key = f"{upload.name}:{upload.size}"
    if st.session_state.get("result_key") != key:
        st.session_state["result_key"] = key
        st.session_state.pop("result", None)
        st.session_state.pop("error", None)
        try:
            st.session_state["result"] = client.post("/v1/diagnose",
                                                     files={"file": (upload.name, upload.getvalue())})
        except FAILURES as exc:
            st.session_state["error"] = str(exc)
    if st.session_state.get("error"):
        st.error(st.session_state["error"])
    elif st.session_state.get("result"):
        show_result(st.session_state["result"])


@st.cache_data(show_spinner=False)
def gallery() -> list[ExampleStudy]:
    """The example studies, generated once per server: the built-in generator with its own seed."""
    return example_studies()


def examples_tab() -> None:
    """A gallery of synthetic studies to diagnose with one click; the answer is the served model's."""
    st.caption("Synthetic chest-like images from the app's built-in generator, not used in training; each is "
               "labelled with the class it was generated as. Click one to have the model diagnose it.")
    studies = [Example(f"Diagnose {s.name}", s, f"generated as {s.truth}") for s in gallery()]
    chosen = pick_example(studies, "imaging-example", columns=3, above=lambda e: st.image(
        e.value.png, caption=f"generated as {e.value.truth}", width=96))
    if chosen is None:
        return
    study: ExampleStudy = chosen.value
    if st.session_state.get("example_name") != study.name:
        st.session_state["example_name"] = study.name
        try:
            st.session_state["example_result"] = client.post("/v1/diagnose", files={"file": (study.name, study.png)})
        except FAILURES as exc:
            st.session_state.pop("example_name")
            st.error(str(exc))
            return
    st.markdown(f"**{study.name}** (generated as *{study.truth}*)")
    show_result(st.session_state["example_result"], key="example")


def worklist_tab() -> None:
    try:
        rows = client.get("/v1/studies")
    except FAILURES as exc:
        st.error(str(exc))
        return
    if not rows:
        st.info("No studies yet: diagnose one first.")
        return
    st.dataframe(pd.DataFrame(rows)[WORKLIST_COLUMNS], hide_index=True, width="stretch")
    with st.form("review"):
        st.markdown("**Review a study**")
        study_id = st.selectbox("Study", [r["id"] for r in rows])
        labels = list((next(r for r in rows if r["id"] == study_id).get("probabilities") or {}).keys())
        reviewer = st.text_input("Reviewer")
        verdict = st.radio("Verdict", ["confirm the model's label", "correct it"], horizontal=True)
        label = st.selectbox("Correct label", labels) if labels else None
        note = st.text_input("Note (optional)")
        if st.form_submit_button("Save review"):
            body = {"reviewer": reviewer, "confirmed": verdict.startswith("confirm"), "label": label,
                    "note": note or None}
            try:
                saved = client.post(f"/v1/studies/{int(study_id)}/review", json=body)
            except FAILURES as exc:
                st.error(str(exc))
            else:
                st.success(f"study {saved['id']}: {saved['review_status']} ({saved['reviewed_label']})")


def calibration_tab(model: dict[str, Any]) -> None:
    """How far the probabilities the page shows can be read as frequencies: the version's reliability diagram
    and ECE on its held-out split, before and after the calibrator chosen on validation data."""
    from apps.imaging.report import reliability_figure

    calibration = model.get("calibration") or {}
    method = calibration.get("method", "temperature")
    curves = calibration.get("reliability") or {}
    if "ece" not in calibration or not curves:
        st.info(f"Calibrated by {method}; this version stores no held-out reliability measurements.")
        return
    low, high = calibration.get("ece_ci95", [calibration["ece"]] * 2)
    st.markdown(f"**Calibration: {method}**, chosen by cross-validated ECE within the validation split.")
    st.caption(f"held-out ECE {calibration['ece']:.3f} (95 % CI {low:.3f}-{high:.3f}) after calibration, "
               f"{calibration.get('ece_uncalibrated', float('nan')):.3f} before")
    empty: dict[str, list[float]] = {"predicted": [], "observed": []}
    figure = reliability_figure({"uncalibrated": curves.get("uncalibrated", empty),
                                 f"calibrated ({method})": curves.get("calibrated", empty)})
    st.pyplot(figure, width="content", alt="Reliability diagram")


def page() -> None:
    st.set_page_config(page_title="Lepton · Imaging", layout="wide")
    st.title(f"{MANIFEST.title}: diagnosis with heat maps")
    st.caption("Click an example study, or upload a PNG/JPEG, DICOM or NIfTI image. The model gives calibrated "
               "probabilities, a decision at its operating threshold and a Grad-CAM heat map; every study lands on "
               "the worklist for review.")
    model, problem = serving_model()
    if model is None:
        no_model(problem)
        return
    st.sidebar.markdown(f"**Model:** {model['model_version']}")
    st.sidebar.markdown(f"**Backend:** {client.where}")
    st.sidebar.caption(f"classes {', '.join(model['class_names'])} · operating threshold {model['threshold']:.3f}")
    tab_examples, tab_diag, tab_work, tab_cal, tab_eval = st.tabs(
        ["Example studies", "Diagnose", "Worklist", "Calibration", "Evaluation"])
    with tab_examples:
        examples_tab()
    with tab_diag:
        diagnose_tab()
    with tab_work:
        worklist_tab()
    with tab_cal:
        calibration_tab(model)
    with tab_eval:
        show_model_report(client, expanded=True)


page()
studies_section(MANIFEST.name)
