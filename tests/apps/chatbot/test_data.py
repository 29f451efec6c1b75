"""Built-in data and the CSV/JSON importers, including every user mistake they must explain."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from apps.chatbot.data import (
    OOS_LABEL,
    builtin_faq,
    builtin_intents,
    builtin_off_topic,
    load_faq,
    load_intents,
    split,
)
from apps.chatbot.intents import BANK_INTENTS
from lepton_shared.errors import UserError


def test_builtin_bank_has_enough_intents_and_examples() -> None:
    frame = builtin_intents()
    counts = frame["label"].value_counts()
    assert len(counts) >= 25
    assert counts.min() >= 20
    assert frame["text"].str.lower().duplicated().sum() == 0  # every example distinct
    assert builtin_intents().equals(frame)  # deterministic
    assert len(builtin_faq()) >= 5 and len(builtin_off_topic()) >= 30
    assert any(spec.needs_agent for spec in BANK_INTENTS) and any(spec.answer for spec in BANK_INTENTS)


def test_csv_text_label_and_banking77_text_category(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("text,label\nhello there,greeting\n  where is my card ,card_arrival\n,empty\n")
    frame = load_intents(a)
    assert frame.to_dict("records") == [{"text": "hello there", "label": "greeting"},
                                        {"text": "where is my card", "label": "card_arrival"}]
    b = tmp_path / "b.csv"
    b.write_text('text,category\n"I am still waiting on my card?",card_arrival\n')
    assert load_intents(b)["label"].tolist() == ["card_arrival"]


def test_json_intent_files(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps({"intents": [{"name": "greeting", "examples": ["hi", "hello"]},
                                         {"name": "bye", "examples": ["bye"]}]}))
    assert sorted(load_intents(a)["label"]) == ["bye", "greeting", "greeting"]
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"greeting": ["hi"], "bye": ["bye", "ciao"]}))
    assert len(load_intents(b)) == 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(UserError, match="expected"):
        load_intents(bad)


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("foo,bar\n1,2\n", "expected text,label"),
    ("text,label\n", "no rows"),
])
def test_bad_csv_files_are_user_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_intents(path, min_examples=5)


def test_label_with_too_few_examples_is_named(tmp_path: Path) -> None:
    rows = [(f"hello {i}", "greeting") for i in range(6)] + [("bye", "goodbye"), ("ciao", "goodbye")]
    path = tmp_path / "few.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    with pytest.raises(UserError, match=r"goodbye \(2\)"):
        load_intents(path, min_examples=5)
    assert len(load_intents(path)) == 8  # evaluation files need no minimum


def test_faq_loader(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nAre you open on Sunday?,No\n")
    assert load_faq(path).iloc[0].to_dict() == {"question": "Are you open on Sunday?", "answer": "No"}
    path.write_text("q1,a1\nx,y\n")
    with pytest.raises(UserError, match="question,answer"):
        load_faq(path)


def test_split_is_stratified_and_keeps_oos_for_validation() -> None:
    frame = pd.concat([builtin_intents(), builtin_off_topic()], ignore_index=True)
    train, val = split(frame, 0.1, seed=1)
    assert OOS_LABEL not in set(train["label"])
    assert (val["label"] == OOS_LABEL).sum() == len(builtin_off_topic())
    assert set(train["label"]) == set(val.loc[val["label"] != OOS_LABEL, "label"])
    assert not set(train["text"]) & set(val["text"])


def test_builtin_bank_is_written_as_customers_write() -> None:
    """Held-out messages use words the training part never showed for their intent, and the TF-IDF
    baseline is no longer perfect on them (it tied the encoder at 1.000 on the old bank)."""
    from apps.chatbot.baselines import baseline_metrics, fit_baseline
    from apps.chatbot.config import ChatbotTrainConfig
    from apps.chatbot.data import BUILTIN_PER_INTENT, TINY_PER_INTENT, builtin_frame

    frame = builtin_intents(BUILTIN_PER_INTENT)
    tiny = builtin_intents(TINY_PER_INTENT)
    assert set(tiny["text"]) <= set(frame["text"])  # the tiny bank is the start of the full one
    assert set(tiny["text"]) == {t[0].upper() + t[1:] for spec in BANK_INTENTS for t in spec.examples}
    defaults = ChatbotTrainConfig()
    train, val = split(builtin_frame(), defaults.val_fraction, defaults.seed)
    in_scope = val[val["label"] != OOS_LABEL]
    seen = {label: set(" ".join(rows["text"]).lower().split()) for label, rows in train.groupby("label")}
    new_words = [w for text, label in zip(in_scope["text"], in_scope["label"], strict=True)
                 for w in text.lower().split() if w not in seen[label]]
    assert len(new_words) >= len(in_scope) // 4
    assert baseline_metrics(fit_baseline(train), val)["accuracy"] < 0.99


def test_suggested_messages_cover_each_kind_from_the_built_in_bank() -> None:
    """The page's suggestions: questions of served intents only, FAQ questions, off-topic messages and requests
    for a person that the dialogue's handoff rule recognises; none holds an answer."""
    from apps.chatbot.data import suggested_messages
    from apps.chatbot.dialogue import asks_for_human
    from apps.chatbot.intents import BANK_INTENTS, FAQ, HUMAN_REQUESTS, OFF_TOPIC

    served = [spec.name for spec in BANK_INTENTS]
    offered = suggested_messages(served, per_kind=2)
    kinds = {kind for kind, _ in offered}
    assert kinds == {"answered", "needs an agent", "FAQ", "out of scope", "asks for a person"}
    by_kind = {kind: [text for k, text in offered if k == kind] for kind in kinds}
    assert all(len(texts) == 2 for texts in by_kind.values())
    assert set(by_kind["out of scope"]) <= set(OFF_TOPIC)
    assert set(by_kind["FAQ"]) <= {question for question, _ in FAQ}
    agent = {spec.examples[0]: spec for spec in BANK_INTENTS}
    assert all(agent[text].needs_agent for text in by_kind["needs an agent"])
    assert all(not agent[text].needs_agent for text in by_kind["answered"])
    assert all(asks_for_human(text) for text in HUMAN_REQUESTS)
    assert not any(asks_for_human(text) for kind, text in offered if kind != "asks for a person")
    answers = {spec.answer for spec in BANK_INTENTS if spec.answer} | {answer for _, answer in FAQ}
    assert not answers & {text for _, text in offered}

    only_cards = suggested_messages(["card_arrival"], per_kind=2)
    assert [text for kind, text in only_cards if kind in ("answered", "needs an agent")] == \
        [agent_text for agent_text, spec in agent.items() if spec.name == "card_arrival"]
