"""Streamlit page of the recommender: sample customers and any user, their history beside their
recommendations with the reasons, an anonymous session, a similar-items browser and the offline metrics
against the baselines.

Everything goes through ``AppClient``: the recommender service at ``LEPTON_RECOMMENDER_URL``, or the
same service in this process, so the page offers the same features both ways. Run it with
``lepton recommender ui``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pandas as pd
import streamlit as st

from apps.recommender.manifest import MANIFEST
from lepton_shared.ui import AppClient, ServiceError
from lepton_shared.ui.examples import Example, pick_example
from lepton_shared.ui.report import show_model_report
from lepton_shared.ui.studies import studies_section

APP = MANIFEST.name
#: what the page catches from a call: the service's refusal, or no answer at all
FAILURES = (ServiceError, httpx.HTTPError)
ANY_CATEGORY = "(any)"
RECOMMENDATION_COLUMNS = ["title", "category", "reason", "score", "item_id"]
#: How many of the model's sample users the page offers as one-click customers.
SAMPLE_CUSTOMERS = 8

client = AppClient(APP)


def _category(choice: str) -> dict[str, str]:
    return {} if choice == ANY_CATEGORY else {"category": choice}


def _table(items: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(items)
    return frame[[c for c in columns if c in frame]] if not frame.empty else pd.DataFrame(columns=columns)


def train_small_model() -> str:
    """Train on the tiny built-in shop in this process, then have the service load the new version
    (made production whatever the promotion gate says: the page has no model to show otherwise)."""
    from apps.recommender.config import RecommenderTrainConfig
    from apps.recommender.training import train

    info = train(RecommenderTrainConfig(tiny=True, epochs=3, promote="always"))
    loaded = client.post("/v1/admin/reload")["model_version"]
    if loaded != info.version:
        raise RuntimeError(f"model {info.version} was trained here, but the service at {client.url} loaded "
                           f"{loaded}: it reads another model registry; run `lepton recommender train` where it "
                           "runs")
    return info.version


def no_model(problem: str) -> None:
    st.warning(f"No recommender model is available yet ({problem}).")
    if client.remote:
        st.caption(f"The model is trained in this process's LEPTON_HOME, then the service at {client.url} is "
                   "asked to reload it (this works when both read the same model registry).")
    if st.button("Train a small model on the built-in shop data"):
        with st.spinner("training (about a minute)…"):
            try:
                version = train_small_model()
            except (*FAILURES, RuntimeError) as exc:
                st.error(str(exc))
                return
        st.success(f"trained {version}: loading it")
        st.rerun()


def metrics_chart(metrics: dict[str, Any], family: str) -> None:
    baselines = metrics.get("baselines") or {}
    if not baselines:
        st.info("this model version has no baseline comparison stored")
        return
    keys = ["precision_at_10", "map_at_10", "ndcg_at_10", "auc_at_10"]
    rows = {f"{family} (this model)": {k: metrics.get(k) for k in keys}}
    rows.update({name: {k: m.get(k) for k in keys} for name, m in baselines.items()})
    frame = pd.DataFrame(rows).T
    st.bar_chart(frame[["ndcg_at_10", "precision_at_10", "map_at_10"]], stack=False)
    st.dataframe(frame.style.format("{:.4f}"), width="stretch")
    gain = metrics.get("ndcg_gain_over_best_baseline")
    if gain is not None:
        st.caption(f"NDCG@10 gain over the strongest baseline ({metrics.get('strongest_baseline')}): "
                   f"{100 * float(gain):+.1f} % (random 80/20 split, seed 42, K=10, seen items filtered)")


def customer_view(who: str, k: int, category: str) -> None:
    """A customer's history beside their recommendations, so one can judge the reasons at a glance."""
    path = f"/v1/users/{quote(who, safe='')}"
    try:
        result = client.get(f"{path}/recommendations", params={"k": k, **_category(category)})
        history = client.get(f"{path}/history")["items"]
    except FAILURES as exc:
        st.error(str(exc))
        return
    label = "cold start: trending items" if result["strategy"] == "cold_start" else "personalised"
    past, future = st.columns(2)
    with past:
        st.subheader(f"History ({len(history)} items)")
        st.dataframe(_table(history, ["title", "category", "item_id"]), width="stretch", hide_index=True)
    with future:
        st.subheader(f"Recommendations for {who} ({label})")
        if result["items"]:
            first = result["items"][0]
            st.markdown(f"Top pick: **{first['title']}** ({first['category']}), {first['reason']}")
        st.dataframe(_table(result["items"], RECOMMENDATION_COLUMNS), width="stretch", hide_index=True)


def samples_tab(overview: dict[str, Any]) -> None:
    """Customers of the model's own data, one click each: no user id to know beforehand."""
    st.caption("Customers from the data the model was trained on. Click one to see what they bought beside what "
               "the model recommends to them, with the reason for each.")
    offered = [Example(f"Customer {user}", str(user)) for user in overview["sample_users"][:SAMPLE_CUSTOMERS]]
    chosen = pick_example(offered, "recommender-sample", columns=SAMPLE_CUSTOMERS // 2)
    if chosen is not None:
        customer_view(str(chosen.value), 10, ANY_CATEGORY)


def user_tab(overview: dict[str, Any], categories: list[str]) -> None:
    user_id = st.selectbox("User", overview["sample_users"], key="user")
    other = st.text_input("…or type any user id (unknown ids get trending items)", key="user_text")
    left, right = st.columns(2)
    k = left.slider("How many", 1, 30, 10, key="user_k")
    category = right.selectbox("Category", categories, key="user_cat")
    if st.button("Recommend", type="primary", key="user_go"):
        customer_view(other.strip() or str(user_id), k, category)


def session_tab(labels: dict[str, str], categories: list[str]) -> None:
    chosen = st.multiselect("Items this visitor touched", list(labels), key="session_items")
    k = st.slider("How many", 1, 30, 10, key="session_k")
    category = st.selectbox("Category", categories, key="session_cat")
    if not st.button("Recommend for this session", key="session_go"):
        return
    try:
        result = client.post("/v1/recommendations", json={"items": [labels[c] for c in chosen], "k": k,
                                                          **_category(category)})
    except FAILURES as exc:
        st.error(str(exc))
        return
    st.dataframe(_table(result["items"], RECOMMENDATION_COLUMNS), width="stretch", hide_index=True)


def similar_tab(labels: dict[str, str]) -> None:
    pick = st.selectbox("Item", list(labels), key="similar_item")
    k = st.slider("How many", 1, 30, 10, key="similar_k")
    if not pick:
        return
    try:
        result = client.get(f"/v1/items/{quote(labels[pick], safe='')}/similar", params={"k": k})
    except FAILURES as exc:
        st.error(str(exc))
        return
    st.dataframe(_table(result["similar"], ["title", "category", "score", "item_id"]), width="stretch",
                 hide_index=True)


def page() -> None:
    st.set_page_config(page_title="Lepton recommender", layout="wide")
    st.title(MANIFEST.title)
    st.caption("Product recommendations from implicit feedback, with the reason for each one.")
    try:
        overview = client.get("/v1/model")
    except ServiceError as exc:
        no_model(str(exc))
        return
    except httpx.HTTPError as exc:
        st.warning(f"the recommender service at {client.url} does not answer ({exc.__class__.__name__})")
        return
    st.write(f"Model **{overview['model_version']}** ({overview['family']}), {overview['n_users']} users, "
             f"{overview['n_items']} items" + (" · via the service" if client.remote else " · in-process"))
    categories = [ANY_CATEGORY, *overview["categories"]]
    labels = {f"{i['title']} ({i['item_id']})": i["item_id"] for i in overview["sample_items"]}
    tab_samples, tab_user, tab_session, tab_similar, tab_metrics = st.tabs(
        ["Sample customers", "For a user", "Anonymous session", "Similar items", "Offline metrics"])
    with tab_samples:
        samples_tab(overview)
    with tab_user:
        user_tab(overview, categories)
    with tab_session:
        session_tab(labels, categories)
    with tab_similar:
        similar_tab(labels)
    with tab_metrics:
        metrics_chart(overview["metrics"], str(overview["family"]))
        show_model_report(client)


page()
studies_section(MANIFEST.name)
