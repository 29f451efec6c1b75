"""Streamlit page of the recommender: a user's history and recommendations with the reasons,
an anonymous session, a similar-items browser and the offline metrics against the baselines.

Talks to the service when LEPTON_RECOMMENDER_URL is set, otherwise loads the
production model in this process.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from apps.recommender.manifest import MANIFEST
from lepton_shared.errors import UserError
from lepton_shared.ui import call_service, service_url

APP = "recommender"


class Client:
    """The same questions, asked of the service or of an in-process model."""

    def __init__(self) -> None:
        self.remote = service_url(APP) is not None

    def _local(self) -> Any:
        return _local_predictor()

    def overview(self) -> dict[str, Any]:
        if self.remote:
            return call_service(APP, "GET", "/v1/model")  # type: ignore[no-any-return]
        from apps.recommender.service import model_overview

        return model_overview(self._local())

    def for_user(self, user_id: str, k: int, category: str | None) -> dict[str, Any]:
        if self.remote:
            params: dict[str, Any] = {"k": k, **({"category": category} if category else {})}
            return call_service(APP, "GET", f"/v1/users/{quote(user_id, safe='')}/recommendations",  # type: ignore[no-any-return]
                                params=params)
        return self._local().engine.for_user(user_id, k, category)  # type: ignore[no-any-return]

    def history(self, user_id: str) -> list[dict[str, Any]]:
        if self.remote:
            return call_service(APP, "GET", f"/v1/users/{quote(user_id, safe='')}/history")["items"]  # type: ignore[no-any-return]
        return self._local().engine.history_of(user_id)  # type: ignore[no-any-return]

    def for_session(self, items: list[str], k: int, category: str | None) -> dict[str, Any]:
        if self.remote:
            return call_service(APP, "POST", "/v1/recommendations",  # type: ignore[no-any-return]
                                json={"items": items, "k": k, "category": category})
        return self._local().engine.for_session(items, k, category)  # type: ignore[no-any-return]

    def similar(self, item_id: str, k: int) -> dict[str, Any]:
        if self.remote:
            return call_service(APP, "GET", f"/v1/items/{quote(item_id, safe='')}/similar",  # type: ignore[no-any-return]
                                params={"k": k})
        return self._local().engine.similar(item_id, k)  # type: ignore[no-any-return]


@st.cache_resource(show_spinner="loading the model…")
def _cached_predictor(version: str) -> Any:
    from apps.recommender.app import APP as RECOMMENDER

    return RECOMMENDER.load_predictor(version)


def _local_predictor() -> Any:
    from lepton_shared.registry import Registry

    return _cached_predictor(Registry().get(APP).version)


def _train_small() -> None:
    from apps.recommender.app import APP as RECOMMENDER
    from lepton_shared.cli.main import build_parser

    args = build_parser(APP).parse_args([APP, "train", "--tiny", "--epochs", "3"])
    RECOMMENDER.train(args)


def _table(items: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(items)
    return frame[[c for c in columns if c in frame]] if not frame.empty else pd.DataFrame(columns=columns)


def _metrics_chart(metrics: dict[str, Any], family: str) -> None:
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


def main() -> None:
    st.set_page_config(page_title="Lepton recommender", layout="wide")
    st.title(MANIFEST.title)
    st.caption("Product recommendations from implicit feedback, with the reason for each one.")
    client = Client()
    try:
        overview = client.overview()
    except (UserError, RuntimeError) as exc:
        st.warning(f"No recommender model is available yet ({exc}).")
        if not client.remote and st.button("Train a small model on the built-in shop data"):
            with st.spinner("training (about a minute)…"):
                _train_small()
            st.success("trained: loading it")
            st.rerun()
        return

    st.write(f"Model **{overview['model_version']}** ({overview['family']}), {overview['n_users']} users, "
             f"{overview['n_items']} items" + (" · via the service" if client.remote else " · in-process"))
    categories = ["(any)", *overview["categories"]]
    tab_user, tab_session, tab_similar, tab_metrics = st.tabs(
        ["For a user", "Anonymous session", "Similar items", "Offline metrics"])

    with tab_user:
        left, right = st.columns([1, 2])
        with left:
            user_id = st.selectbox("User", overview["sample_users"], key="user")
            other = st.text_input("…or type any user id (unknown ids get trending items)", key="user_text")
            k = st.slider("How many", 1, 30, 10, key="user_k")
            category = st.selectbox("Category", categories, key="user_cat")
            go = st.button("Recommend", type="primary", key="user_go")
        with right:
            if go:
                who = other.strip() or str(user_id)
                try:
                    result = client.for_user(who, k, None if category == "(any)" else category)
                    history = client.history(who)
                except (UserError, RuntimeError) as exc:
                    st.error(str(exc))
                else:
                    label = "cold start: trending items" if result["strategy"] == "cold_start" else "personalised"
                    st.subheader(f"Recommendations for {who} ({label})")
                    if result["items"]:
                        first = result["items"][0]
                        st.markdown(f"Top pick: **{first['title']}** ({first['category']}), {first['reason']}")
                    st.dataframe(_table(result["items"], ["title", "category", "reason", "score", "item_id"]),
                                 width="stretch", hide_index=True)
                    st.subheader(f"History ({len(history)} items)")
                    st.dataframe(_table(history, ["title", "category", "item_id"]), width="stretch",
                                 hide_index=True)

    items = overview["sample_items"]
    labels = {f"{i['title']} ({i['item_id']})": i["item_id"] for i in items}
    with tab_session:
        chosen = st.multiselect("Items this visitor touched", list(labels), key="session_items")
        k2 = st.slider("How many", 1, 30, 10, key="session_k")
        category2 = st.selectbox("Category", categories, key="session_cat")
        if st.button("Recommend for this session", key="session_go"):
            try:
                result = client.for_session([labels[c] for c in chosen], k2,
                                            None if category2 == "(any)" else category2)
            except (UserError, RuntimeError) as exc:
                st.error(str(exc))
            else:
                st.dataframe(_table(result["items"], ["title", "category", "reason", "score", "item_id"]),
                             width="stretch", hide_index=True)

    with tab_similar:
        pick = st.selectbox("Item", list(labels), key="similar_item")
        k3 = st.slider("How many", 1, 30, 10, key="similar_k")
        if pick:
            try:
                result = client.similar(labels[pick], k3)
            except (UserError, RuntimeError) as exc:
                st.error(str(exc))
            else:
                st.dataframe(_table(result["similar"], ["title", "category", "score", "item_id"]),
                             width="stretch", hide_index=True)

    with tab_metrics:
        _metrics_chart(overview["metrics"], str(overview["family"]))


main()
