"""Streamlit page: fleet ranked by urgency, per-machine sensors and RUL band, policy comparison with your costs.

Everything comes from the app's service through ``AppClient``: the service at ``LEPTON_MAINTENANCE_URL``,
or the same service in this process, so both ways show the same page.
"""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import streamlit as st

from apps.maintenance.manifest import MANIFEST
from lepton_shared.ui import AppClient, ServiceError, reset_local
from lepton_shared.ui.report import show_model_report
from lepton_shared.ui.studies import studies_section

APP = MANIFEST.name
POLICY_COLUMNS = ["cost_per_1000_cycles", "failures", "maintenance_count"]
FLEET_COLUMNS = ["machine_id", "rul", "rul_low", "rul_high", "recommended_action",
                 "failure_probability_before_next_slot", "error"]

st.set_page_config(page_title="Lepton maintenance", layout="wide")
st.title(MANIFEST.title)
st.caption("Remaining useful life (RUL) with a 90 % band, the recommended action, and how the RL policy compares "
           "with tuned rules.")
client = AppClient(APP)
#: re-tuning three baselines and simulating every policy: about a minute on 2 busy cores, more on a crowded one
COMPARE_TIMEOUT_S = 600.0


def policy_table(rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(rows).T[POLICY_COLUMNS]


def no_model(reason: str) -> None:
    st.info(f"No maintenance model yet ({reason}).")
    if client.remote:
        st.markdown("Train one where the service runs: `lepton maintenance train`.")
        return
    st.markdown("Train a small one on the built-in simulator data:")
    if st.button("Train a small model"):
        from apps.maintenance.config import MaintenanceTrainConfig
        from apps.maintenance.training import train

        with st.spinner("training (a minute or two)…"):
            train(MaintenanceTrainConfig(tiny=True, epochs=2, members=1, rl_steps=2048, episodes=4, device="cpu",
                                         promote="always"))
        reset_local(APP)
        st.rerun()


def simulation_controls(machines: list[dict[str, Any]]) -> None:
    """Let the simulated machines run on, so the ranking changes as they wear (through the service's own route,
    so it works the same when the page calls a remote service)."""
    from apps.maintenance.data import demo_machine_ids

    if not set(demo_machine_ids()) & {m["machine_id"] for m in machines}:
        return
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    cycles = left.number_input("Cycles", min_value=1, max_value=50, value=10, step=5, key="advance_cycles")
    if right.button("Run the simulated machines on"):
        try:
            result = client.post("/v1/fleet/demo/advance", json={"cycles": int(cycles)})
        except ServiceError as exc:
            st.warning(str(exc))
            return
        ran = ", ".join(f"{m} +{n}" for m, n in result["advanced"].items()) or "none"
        st.toast(f"cycles run: {ran}" + (f"; at end of life: {', '.join(result['failed'])}" if result["failed"]
                                          else ""))
        st.rerun()


def fleet_section() -> None:
    st.subheader("Fleet, most urgent first")
    machines = client.get("/v1/fleet")["machines"]
    if not machines:
        st.info("No machine has sent readings yet (POST /v1/machines/{id}/readings).")
        if st.button("Add six simulated machines"):
            added = client.post("/v1/fleet/demo")["added"]
            st.toast(f"added {', '.join(added) or 'nothing'}")
            st.rerun()
        return
    simulation_controls(machines)
    table = pd.DataFrame(machines)
    table.insert(0, "urgency_rank", range(1, len(table) + 1))
    st.dataframe(table[[c for c in ["urgency_rank", *FLEET_COLUMNS] if c in table.columns]], hide_index=True)
    choice = st.selectbox("Machine", table["machine_id"].tolist())
    try:
        history = client.get(f"/v1/machines/{choice}/history")
    except ServiceError as exc:
        st.warning(str(exc))
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Sensors**")
        st.line_chart(pd.DataFrame(history["sensors"], index=pd.Index(history["reading"], name="reading")))
    with right:
        st.markdown("**RUL estimate and 90 % band over time**")
        st.line_chart(pd.DataFrame({"rul": history["rul"], "low": history["rul_low"], "high": history["rul_high"]},
                                   index=pd.Index(history["reading"], name="reading")))
    current = next(m for m in machines if m["machine_id"] == choice)
    st.success(f"{choice}: RUL {current['rul']:.0f} cycles ({current['rul_low']:.0f}–{current['rul_high']:.0f}); "
               f"recommended: **{current['recommended_action']}**")


def policy_notice(choice: dict[str, Any]) -> None:
    """Which policy this version acts with, and why when the RL agent lost to a rule."""
    if choice.get("fallback"):
        st.warning(f"This version's policy is the rule **{choice['policy']}**, not the RL agent: {choice['note']}.")
    elif "note" in choice:
        st.caption(f"This version's policy is the RL agent: {choice['note']}.")


def policy_section(saved: dict[str, Any]) -> None:
    st.subheader("Policy comparison (held-out simulated machines)")
    policy_notice(saved.get("policy") or {})
    st.dataframe(policy_table(saved["simulator"]["policies"]))
    costs = saved["costs"]
    with st.form("costs"):
        c1, c2, c3 = st.columns(3)
        downtime = c1.slider("downtime cost per cycle", 0, 1000, int(costs["downtime_cost"]), 25)
        failure = c2.slider("failure cost", 0, 20000, int(costs["failure_cost"]), 500)
        service = c3.slider("service cost", 0, 3000, int(costs["service_cost"]), 50)
        run = st.form_submit_button("Re-run comparison")
    if run:
        try:
            with st.spinner("re-tuning the baselines and scoring every policy…"):
                result = client.post("/v1/policies/compare", timeout=COMPARE_TIMEOUT_S, json={
                    "costs": {"downtime_cost": downtime, "failure_cost": failure, "service_cost": service},
                    "episodes": 4})
        except ServiceError as exc:
            st.error(str(exc))
            return
        st.markdown("**With your costs** (baselines re-tuned; the RL agent was trained for the saved costs)")
        st.dataframe(policy_table(result["policies"]))
    replay = saved["replay"]
    if replay:
        st.subheader("Policy comparison (held-out recorded engines, replayed)")
        st.caption(replay["setup"])
        st.dataframe(pd.DataFrame(replay["policies"]).T[[*POLICY_COLUMNS, "operating_cycles"]])


def page() -> None:
    try:
        saved = client.get("/v1/policies")
    except ServiceError as exc:
        if exc.status == 503:
            no_model(str(exc))
        else:
            st.warning(str(exc))
        return
    except httpx.HTTPError as exc:
        st.warning(f"the maintenance service at {client.url} is not reachable ({exc.__class__.__name__})")
        return
    st.caption(f"Model {saved['model_version']}, answers from {client.where}.")
    fleet_section()
    policy_section(saved)
    show_model_report(client)


page()
studies_section(MANIFEST.name)
