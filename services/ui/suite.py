"""The Lepton Suite in one Streamlit app: a home page and one page per app.

Run with ``make ui`` (or ``python -m streamlit run services/ui/suite.py``).
Each app page is the app's own ``apps/<app>/ui.py``, so it behaves exactly as
it does alone (``make ui-<app>``): it calls the app's service when
``LEPTON_<APP>_URL`` is set (``make demo`` sets it) and runs the model
in-process otherwise. Apps are imported only when their page or card needs
them, so a missing or half-built app never breaks the home page.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `streamlit run` only puts this file's folder on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from services.ui.home import Card, build_cards, icons, page_script, titles  # noqa: E402
from services.ui.monitoring import monitoring_page  # noqa: E402

SERVICE_BADGES = {
    "up": ":green-badge[:material/check_circle: service up]",
    "down": ":red-badge[:material/error: service down]",
    "in-process": ":gray-badge[:material/memory: in-process]",
}


def _alert_badge(alerts: list[str] | None) -> str:
    """The monitoring badge of a card: the alerts of the last 24 hours (``lepton monitor``), if known."""
    if alerts is None:
        return ""
    if not alerts:
        return "  :green-badge[:material/monitoring: no alerts]"
    return f"  :red-badge[:material/warning: {len(alerts)} alert{'s' if len(alerts) > 1 else ''}]"


def _card(card: Card, pages: dict[str, st.Page]) -> None:
    with st.container(border=True, key=f"card-{card.app}"):
        st.subheader(card.title, anchor=False)
        st.caption(f"For {card.audience}: {card.summary}" if card.audience else card.summary)
        if not card.installed:
            st.markdown(":gray-badge[not part of this build]")
            return
        if card.training:  # its service starts only once trained: "service down" would be a false alarm
            st.markdown(":orange-badge[:material/hourglass_top: training…]")
        else:
            st.markdown(f"{SERVICE_BADGES[card.service]}  "
                        + (f":blue-badge[model {card.model_version}]" if card.model_version
                           else ":orange-badge[no model yet]")
                        + ("  :orange-badge[:material/bolt: quick demo model]" if card.quick else "")
                        + _alert_badge(card.alerts))
        if card.model_version and card.value is not None and card.key_metric:
            delta = None
            if card.baseline_value is not None:
                delta = f"{card.value - card.baseline_value:+.3f} vs {card.baseline_name}"
            st.metric(card.key_metric, f"{card.value:.3f}", delta=delta,
                      delta_color="normal" if card.higher_is_better else "inverse",
                      help="the model's score on held-out data; the delta compares it with the strongest "
                           "simple baseline, which a useful model must beat")
        if card.quick:
            st.info(f"{card.quick[0].upper()}{card.quick[1:]}. Press *Refresh status* to follow it.",
                    icon=":material/hourglass_top:")
        elif card.training:
            st.info(f"{card.training}. Press *Refresh status* to follow it.", icon=":material/hourglass_top:")
        elif card.needs_training:
            st.info(f"{card.problem}. Or open the page and train a small model on the built-in data.",
                    icon=":material/info:")
        elif card.problem:
            st.warning(card.problem, icon=":material/warning:")
        if card.app in pages:
            st.page_link(pages[card.app], label=f"Open {card.title}", icon=":material/arrow_forward:")
            if card.first_try:
                st.caption(f":material/lightbulb: First try: {card.first_try}")


def home() -> None:
    """The landing page: what each app is, which model it runs, and whether it is any good."""
    st.title("Lepton Suite", anchor=False)
    st.write("Five AI apps on one platform, each for one kind of team. Each card says whom the app serves, "
             "shows the model in production with its key score on held-out data against a simple baseline "
             "(a useful model must beat it), whether its service answers, and the first thing to try on its page.")
    if st.button("Refresh status", icon=":material/refresh:", key="refresh"):
        st.rerun()
    pages: dict[str, st.Page] = st.session_state.get("_lepton_pages", {})
    cards = build_cards()
    columns = st.columns(3)
    for i, card in enumerate(cards):
        with columns[i % 3]:
            _card(card, pages)
    ready = sum(1 for c in cards if c.model_version)
    st.caption(f"{ready} of {len(cards)} apps have a production model. Retrain with `make train-<app>`; "
               "see docs/guide-analyst.md.")


def main() -> None:
    st.set_page_config(page_title="Lepton Suite", page_icon=":material/hub:", layout="wide")
    from lepton_shared.app import app_installed

    home_page = st.Page(home, title="Home", icon=":material/home:", url_path="home", default=True)
    monitor_page = st.Page(monitoring_page, title="Monitoring", icon=":material/monitoring:", url_path="monitoring")
    names, icon_of = titles(), icons()
    app_pages = {name: st.Page(str(page_script(name)), title=title, icon=icon_of[name], url_path=name)
                 for name, title in names.items() if app_installed(name) and page_script(name).is_file()}
    st.session_state["_lepton_pages"] = app_pages
    nav = st.navigation({"Suite": [home_page, monitor_page], "Apps": list(app_pages.values())} if app_pages
                        else [home_page, monitor_page])
    nav.run()


main()
