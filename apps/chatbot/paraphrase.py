"""How the built-in bank's hand-written phrasings become the messages customers actually type.

Real chat traffic says one thing many ways: synonyms from a long tail (most people write "card",
a few "plastic"), phrases framed by talk about the account or the app that every intent shares,
and typos. A bag-of-words model learns the words it was shown; a pretrained sentence encoder also
knows the rarer words for the same thing. The rarer alternatives therefore carry small weights, so
some of them appear only in the held-out part of a split, as new words do in production.

Everything is drawn from a generator seeded by the intent's name: the bank is the same on every
machine, and a smaller bank is the start of a larger one.
"""

from __future__ import annotations

import zlib

import numpy as np

#: word or phrase -> what customers also write for it, most common first
LEXICON: dict[str, tuple[str, ...]] = {
    "card": ("debit card", "bank card", "plastic", "mastercard", "visa"),
    "money": ("cash", "funds", "dough", "savings"),
    "account": ("acct", "bank account", "profile"),
    "transfer": ("payment", "wire", "bank transfer", "remittance"),
    "arrived": ("come", "turned up", "shown up", "been delivered"),
    "arrive": ("come", "turn up", "show up", "get here"),
    "lost": ("misplaced", "can't find", "mislaid"),
    "stolen": ("nicked", "taken", "pinched", "swiped"),
    "declined": ("refused", "rejected", "bounced", "not accepted"),
    "cancel": ("stop", "call off", "revoke", "undo"),
    "change": ("update", "modify", "alter", "swap"),
    "open": ("start", "set up", "create"),
    "close": ("shut", "end", "terminate", "get rid of"),
    "fee": ("charge", "cost", "commission", "surcharge"),
    "charged": ("billed", "debited", "hit with a fee"),
    "rate": ("price", "conversion", "quote"),
    "balance": ("funds available", "amount left", "credit"),
    "loan": ("credit", "advance", "borrowing"),
    "mortgage": ("home loan", "house loan", "property finance"),
    "address": ("home address", "postal address", "residence"),
    "phone": ("mobile", "cell", "handset"),
    "number": ("digits", "no."),
    "app": ("application", "mobile banking", "banking app"),
    "log in": ("sign in", "get in", "access"),
    "password": ("passcode", "login details", "credentials"),
    "branch": ("office", "location", "bank shop"),
    "statement": ("bank statement", "transaction history", "record"),
    "refund": ("money back", "reimbursement", "return"),
    "interest": ("yield", "return", "apr"),
    "pin": ("pin code", "secret number", "code"),
    "fraud": ("scam", "theft", "unauthorised use"),
    "want": ("would like", "need", "wish"),
    "how do I": ("how can I", "what's the way to", "help me"),
    "my": ("the", "our"),
    "help": ("assist", "support"),
    "top up": ("top-up", "load money", "add funds"),
    "direct debit": ("dd", "recurring payment", "auto payment"),
    "limit": ("cap", "maximum", "ceiling"),
    "hello": ("hiya", "howdy", "yo"),
    "thanks": ("thx", "ty", "cheers", "much appreciated"),
}

#: what customers wrap around a request; the words (account, app, card, money) are shared by every intent
FRAMES: tuple[str, ...] = (
    "{}", "{}", "{}", "hi, {}", "hello, {}", "{} please", "{}, thanks", "{}?", "quick question: {}",
    "{} asap", "can you help me, {}", "i'm using the app and {}", "about my account: {}",
    "{} - this is urgent", "sorry to bother you but {}", "{}, what do I do", "so {}", "ok so {}",
    "{} on my account", "hey, {}, money matters", "{} (tried the app already)", "need help with my card: {}",
)

_TYPO_RATE = 0.25  # share of messages with one slip of the finger
_SUBSTITUTE_RATE = 0.8  # chance that a word with alternatives is replaced by one of them


def _weights(n: int) -> np.ndarray:
    """Zipf-like weights: the first alternative is common, the last one rare."""
    w = 1.0 / np.arange(1, n + 1) ** 1.0
    return w / w.sum()


def rng_for(name: str) -> np.random.Generator:
    """The generator of one intent: its name's CRC (stable across Python runs, unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def substitute(text: str, rng: np.random.Generator) -> str:
    """Replace some words and phrases of :data:`LEXICON` by an alternative (longest phrases first)."""
    words = text.split()
    out: list[str] = []
    i = 0
    keys = sorted(LEXICON, key=lambda k: -len(k.split()))
    while i < len(words):
        for key in keys:
            span = key.split()
            if [w.lower().strip(",.?!") for w in words[i:i + len(span)]] == span:
                options = LEXICON[key]
                if rng.random() < _SUBSTITUTE_RATE:
                    out.append(str(options[rng.choice(len(options), p=_weights(len(options)))]))
                else:
                    out.append(" ".join(words[i:i + len(span)]))
                i += len(span)
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def typo(text: str, rng: np.random.Generator) -> str:
    """One slip in one word of four letters or more: two letters swapped, one dropped or one doubled."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_words:
        return text
    i = int(rng.choice(long_words))
    w = words[i]
    j = int(rng.integers(1, len(w) - 1))
    kind = int(rng.integers(0, 3))
    words[i] = (w[:j] + w[j + 1] + w[j] + w[j + 2:] if kind == 0 else w[:j] + w[j + 1:] if kind == 1
                else w[:j] + w[j] + w[j:])
    return " ".join(words)


def vary(phrase: str, rng: np.random.Generator) -> str:
    """One customer's way of typing ``phrase``: synonyms, a frame and, sometimes, a typo."""
    text = FRAMES[int(rng.integers(0, len(FRAMES)))].format(substitute(phrase, rng))
    if rng.random() < _TYPO_RATE:
        text = typo(text, rng)
    return text
