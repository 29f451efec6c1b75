"""``pick_example``: one button per example, the clicked one kept across reruns until forgotten."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from lepton_shared.ui.examples import Example, forget_example, pick_example

    examples = [Example(f"try {word}", word.upper(), f"hint {word}") for word in ("alpha", "beta", "gamma")]
    chosen = pick_example(examples, "demo", columns=2, above=lambda e: st.caption(f"above {e.label}"))
    st.markdown(f"chosen: {chosen.value if chosen else None}")
    if st.button("forget"):
        forget_example("demo")
        st.rerun()
    if st.button("other"):
        pass


def _chosen(page: AppTest) -> str:
    return next(m.value for m in page.markdown if m.value.startswith("chosen:"))


def _click(page: AppTest, label: str) -> None:
    next(b for b in page.button if b.label == label).click().run()


def test_clicked_example_is_kept_across_reruns_until_forgotten() -> None:
    page = AppTest.from_function(_page).run()
    assert not page.exception
    assert sorted((b.label, b.help) for b in page.button if b.label.startswith("try")) == [
        ("try alpha", "hint alpha"), ("try beta", "hint beta"), ("try gamma", "hint gamma")]
    assert sorted(c.value for c in page.caption) == ["above try alpha", "above try beta", "above try gamma"]
    assert _chosen(page) == "chosen: None"
    _click(page, "try beta")
    assert _chosen(page) == "chosen: BETA"
    _click(page, "other")  # another widget's rerun keeps the choice
    assert _chosen(page) == "chosen: BETA"
    _click(page, "try gamma")
    assert _chosen(page) == "chosen: GAMMA"
    _click(page, "forget")
    assert _chosen(page) == "chosen: None"


def test_no_examples_draws_nothing() -> None:
    def empty() -> None:
        import streamlit as st

        from lepton_shared.ui.examples import pick_example

        st.markdown(f"chosen: {pick_example([], 'none')}")

    page = AppTest.from_function(empty).run()
    assert not page.exception and not page.button and _chosen(page) == "chosen: None"
