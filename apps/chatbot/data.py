"""Intent and FAQ data: the built-in demo bank, CSV/JSON importers and splits.

Importers accept what people actually have: a ``text,label`` CSV, BANKING77's
``text,category`` CSV, or a JSON intent file. Every problem (empty file, unknown
columns, a label with too few examples) is one :class:`UserError` sentence.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from apps.chatbot.intents import BANK_INTENTS, FAQ, HUMAN_REQUESTS, OFF_TOPIC, expand
from lepton_shared.errors import UserError

OOS_LABEL = "oos"
MIN_EXAMPLES = 5  # fewer examples than this cannot be split into train and validation
TEXT_COLUMNS = ("text", "utterance", "sentence", "query")
LABEL_COLUMNS = ("label", "category", "intent")
TINY_PER_INTENT = 8  # examples per built-in intent with ``tiny``
BUILTIN_PER_INTENT = 24


def builtin_intents(per_intent: int = 24) -> pd.DataFrame:
    """The demo bank's in-scope examples as a ``text,label`` frame (28 intents x ``per_intent``)."""
    rows = [(text, spec.name) for spec in BANK_INTENTS for text in expand(spec, per_intent)]
    return pd.DataFrame(rows, columns=["text", "label"])


def builtin_off_topic() -> pd.DataFrame:
    """Off-topic messages labelled ``oos``: used to check the out-of-scope threshold."""
    return pd.DataFrame({"text": list(OFF_TOPIC), "label": OOS_LABEL})


def builtin_frame(tiny: bool = False) -> pd.DataFrame:
    """The built-in training data as ``lepton chatbot train`` uses it (``--tiny``: 8 examples per intent)."""
    per_intent = TINY_PER_INTENT if tiny else BUILTIN_PER_INTENT
    return pd.concat([builtin_intents(per_intent), builtin_off_topic()], ignore_index=True)


def builtin_faq() -> pd.DataFrame:
    return pd.DataFrame(list(FAQ), columns=["question", "answer"])


def suggested_messages(intents: Collection[str], per_kind: int = 2) -> list[tuple[str, str]]:
    """``(kind, message)`` pairs a page offers to click, drawn from the built-in bank: questions of intents the
    served model knows (ones it answers, ones it hands to an agent), FAQ questions, out-of-scope messages and
    requests for a person. What the bot says back is the model's business, so nothing here holds an answer."""
    served = [spec for spec in BANK_INTENTS if spec.name in set(intents)]
    answered = [spec.examples[0] for spec in served if not spec.needs_agent]
    for_agent = [spec.examples[0] for spec in served if spec.needs_agent]
    kinds = [("answered", answered), ("needs an agent", for_agent), ("FAQ", [q for q, _ in FAQ]),
             ("out of scope", list(OFF_TOPIC)), ("asks for a person", list(HUMAN_REQUESTS))]
    return [(kind, text) for kind, texts in kinds for text in texts[:per_kind]]


def _pick(columns: list[str], options: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[o] for o in options if o in lowered), None)


def load_intents(path: Path, min_examples: int = 0) -> pd.DataFrame:
    """Read a ``text,label`` (or ``text,category``) CSV or a JSON intent file.

    JSON may be ``{"intents": [{"name": ..., "examples": [...]}]}`` or
    ``{"<intent>": ["example", ...]}``. ``min_examples`` > 0 rejects labels with
    fewer in-scope examples (training needs some for validation).
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"data not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder: pass a CSV (text,label) or JSON intent file")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty: expected a CSV with columns text,label")
    if path.suffix.lower() == ".json":
        frame = _read_json(path)
    else:
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
        text_col, label_col = _pick(list(raw.columns), TEXT_COLUMNS), _pick(list(raw.columns), LABEL_COLUMNS)
        if text_col is None or label_col is None:
            raise UserError(f"{path} has columns {', '.join(map(str, raw.columns))}; expected text,label "
                            "(or BANKING77's text,category)")
        frame = pd.DataFrame({"text": raw[text_col], "label": raw[label_col]})
    frame["text"] = frame["text"].astype(str).str.strip()
    frame["label"] = frame["label"].astype(str).str.strip()
    frame = frame[(frame["text"] != "") & (frame["label"] != "")].reset_index(drop=True)
    if frame.empty:
        raise UserError(f"{path} has no rows with both a text and a label")
    if min_examples:
        counts = frame.loc[frame["label"] != OOS_LABEL, "label"].value_counts()
        small = counts[counts < min_examples]
        if len(small):
            listed = ", ".join(f"{k} ({v})" for k, v in small.head(5).items())
            raise UserError(f"{path}: {len(small)} label(s) have fewer than {min_examples} examples: {listed}; "
                            "add examples or remove those rows")
        if len(counts) < 2:
            raise UserError(f"{path} needs at least 2 different labels to train an intent model")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} as JSON: {exc}") from None
    rows: list[tuple[str, str]] = []
    if isinstance(doc, dict) and isinstance(doc.get("intents"), list):
        for item in doc["intents"]:
            if not isinstance(item, dict) or "name" not in item or not isinstance(item.get("examples"), list):
                raise UserError(f"{path}: every entry of 'intents' needs a 'name' and a list of 'examples'")
            rows += [(str(t), str(item["name"])) for t in item["examples"]]
    elif isinstance(doc, dict) and doc and all(isinstance(v, list) for v in doc.values()):
        rows = [(str(t), str(name)) for name, texts in doc.items() for t in texts]
    else:
        raise UserError(f"{path}: expected {{\"intents\": [{{\"name\": ..., \"examples\": [...]}}]}} "
                        "or {\"intent\": [examples]}")
    return pd.DataFrame(rows, columns=["text", "label"])


def load_faq(path: Path) -> pd.DataFrame:
    """Read an FAQ CSV with columns ``question,answer``."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"FAQ file not found: {path}")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty: expected a CSV with columns question,answer")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    q, a = _pick(list(raw.columns), ("question", "q")), _pick(list(raw.columns), ("answer", "a"))
    if q is None or a is None:
        raise UserError(f"{path} has columns {', '.join(map(str, raw.columns))}; expected question,answer")
    frame = pd.DataFrame({"question": raw[q].str.strip(), "answer": raw[a].str.strip()})
    frame = frame[(frame["question"] != "") & (frame["answer"] != "")].reset_index(drop=True)
    if frame.empty:
        raise UserError(f"{path} has no rows with both a question and an answer")
    return frame


def split(frame: pd.DataFrame, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/validation split of in-scope rows (``oos`` rows all go to validation)."""
    in_scope = frame[frame["label"] != OOS_LABEL]
    oos = frame[frame["label"] == OOS_LABEL]
    n_labels = in_scope["label"].nunique()
    n_val = max(n_labels, round(len(in_scope) * val_fraction))
    if n_val >= len(in_scope) - n_labels:
        raise UserError(f"too few examples ({len(in_scope)}) for {n_labels} labels to keep a validation part")
    train, val = train_test_split(in_scope, test_size=n_val, stratify=in_scope["label"], random_state=seed)
    return train.reset_index(drop=True), pd.concat([val, oos]).reset_index(drop=True)
