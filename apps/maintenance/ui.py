"""Streamlit page: fleet ranked by urgency, per-machine sensors and RUL band, policy comparison."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
import streamlit as st

from apps.maintenance.manifest import MANIFEST
from lepton_shared.errors import UserError
from lepton_shared.ui import call_service, service_url

APP = "maintenance"
st.set_page_config(page_title="Lepton maintenance", layout="wide")
st.title(MANIFEST.title)
st.caption("Remaining useful life (RUL) with a 90 % band, the recommended action, and how the RL policy compares "
           "with tuned rules.")


def tiny_args(**extra: Any) -> argparse.Namespace:
    base = {"data": None, "seed": 42, "device": "cpu", "epochs": 2, "no_promote": False, "tiny": True, "cost": None,
            "episodes": 4, "members": 1, "rl_steps": 2048, "model": None, "json": True}
    return argparse.Namespace(**{**base, **extra})


@st.cache_resource(show_spinner=False)
def load_predictor(_key: str) -> Any:
    from apps.maintenance.app import APP as MAINT

    return MAINT.load_predictor()


@st.cache_data(show_spinner=False)
def demo_fleet() -> pd.DataFrame:
    """Six machines seen part-way through their lives (simulated)."""
    from apps.maintenance.simulator import simulate_fleet

    fleet = simulate_fleet(6, seed=2024)
    cut = {u: int(len(g) * f) for (u, g), f in zip(fleet.groupby("unit"), (0.5, 0.95, 0.7, 0.85, 0.3, 0.9),
                                                    strict=True)}
    return fleet[fleet["cycle"] <= fleet["unit"].map(cut)].reset_index(drop=True)


def in_process() -> None:
    from lepton_shared.registry import Registry

    try:
        info = Registry().get(APP)
    except UserError as exc:
        st.info(f"No maintenance model yet ({exc}). Train a small one on the built-in simulator data.")
        if st.button("Train a small model"):
            from apps.maintenance.pipeline import train

            with st.spinner("training (about a minute)…"):
                train(tiny_args())
            st.rerun()
        return
    predictor = load_predictor(info.version)
    fleet = demo_fleet()
    rows = []
    for unit, group in fleet.groupby("unit"):
        rows.append({"machine": f"M{unit}", **predictor.assess(group)})
    table = pd.DataFrame(rows).sort_values("rul_low")
    st.subheader("Fleet, most urgent first")
    st.dataframe(table[["machine", "rul", "rul_low", "rul_high", "recommended_action",
                        "failure_probability_before_next_slot"]], hide_index=True)
    choice = st.selectbox("Machine", table["machine"].tolist())
    group = fleet[fleet["unit"] == int(choice[1:])]
    mean, lo, hi = predictor.bundle.rul.predict_windows(
        predictor.spec.windows_of(predictor.spec.normalise(group)))
    left, right = st.columns(2)
    with left:
        st.markdown("**Sensors**")
        st.line_chart(group.set_index("cycle")[predictor.spec.columns[:6]])
    with right:
        st.markdown("**RUL estimate and 90 % band over time**")
        st.line_chart(pd.DataFrame({"rul": mean, "low": lo, "high": hi}, index=group["cycle"]))
    current = table[table["machine"] == choice].iloc[0]
    st.success(f"{choice}: RUL {current['rul']:.0f} cycles ({current['rul_low']:.0f}–{current['rul_high']:.0f}); "
               f"recommended: **{current['recommended_action']}**")
    policy_comparison(info.metrics.get("policies", {}), predictor)
    from apps.maintenance.replay import replay_table

    replay = replay_table(info.metrics)
    if replay is not None:
        st.subheader("Policy comparison (held-out recorded engines, replayed)")
        st.caption(info.metrics["policies_cmapss_replay"].get("setup", ""))
        st.dataframe(replay)


def policy_comparison(saved: dict[str, Any], predictor: Any) -> None:
    st.subheader("Policy comparison (held-out simulated machines)")
    if saved:
        st.dataframe(pd.DataFrame(saved).T[["cost_per_1000_cycles", "failures", "maintenance_count"]])
    with st.form("costs"):
        costs = predictor.bundle.costs
        c1, c2, c3 = st.columns(3)
        downtime = c1.slider("downtime cost per cycle", 0, 1000, int(costs.downtime_cost), 25)
        failure = c2.slider("failure cost", 0, 20000, int(costs.failure_cost), 500)
        service = c3.slider("service cost", 0, 3000, int(costs.service_cost), 50)
        run = st.form_submit_button("Re-run comparison")
    if run:
        from apps.maintenance.pipeline import compare_policies

        new_costs = costs.with_overrides(downtime_cost=downtime, failure_cost=failure, service_cost=service)
        with st.spinner("re-tuning the baselines and scoring every policy…"):
            result = compare_policies(predictor.bundle.policy_rul, predictor.bundle.ppo,
                                      predictor.bundle.policy["baselines"], new_costs, episodes=4, retune=True,
                                      quick=True)
        st.markdown("**With your costs** (baselines re-tuned; the RL agent was trained for the saved costs)")
        st.dataframe(pd.DataFrame(result).T[["cost_per_1000_cycles", "failures", "maintenance_count"]])


def via_service() -> None:
    try:
        fleet = call_service(APP, "GET", "/v1/fleet")
    except RuntimeError as exc:
        st.warning(str(exc))
        return
    st.subheader("Fleet, most urgent first")
    if not fleet["machines"]:
        st.info("No machine has sent readings yet (POST /v1/machines/{id}/readings).")
        return
    st.dataframe(pd.DataFrame(fleet["machines"]), hide_index=True)
    choice = st.selectbox("Machine", [m["machine_id"] for m in fleet["machines"]])
    st.json(call_service(APP, "GET", f"/v1/machines/{choice}"))


if service_url(APP):
    via_service()
else:
    in_process()
