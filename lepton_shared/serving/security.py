"""Private by default: who may reach a service, and what of a person it keeps.

A service with no ``LEPTON_API_TOKEN`` answers anyone who can reach it, so it only listens on loopback
unless the operator says otherwise (``--allow-public`` / ``LEPTON_ALLOW_PUBLIC=1``). Personal ids are
kept in logs and the prediction log only as keyed hashes (HMAC-SHA256 with ``LEPTON_ID_SALT``): a plain
hash of a low-entropy id (a user number, a patient id) is reversed by hashing every candidate, a keyed
one is not without the salt, which is why production refuses the public default salt.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from typing import Any

from lepton_shared.errors import UserError
from lepton_shared.settings import DEFAULT_ID_SALT, Settings, get_settings

#: keys whose values identify a person, wherever they appear in a logged answer (a DICOM study or series UID
#: leads to one patient's record in the hospital's archive)
PERSONAL_ID_KEYS = frozenset({"user_id", "customer_id", "patient_id", "study_uid", "series_uid"})


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def check_production(settings: Settings | None = None) -> None:
    """Refuse to run in production (``LEPTON_ENV=production``) with the public default id salt."""
    settings = settings or get_settings()
    if settings.env == "production" and settings.id_salt == DEFAULT_ID_SALT:
        raise UserError("LEPTON_ENV=production needs its own LEPTON_ID_SALT (the default is public, so hashed "
                        "personal ids could be reversed): set it to a long random secret")


def check_bind(host: str, allow_public: bool = False, settings: Settings | None = None) -> str | None:
    """Refuse a non-loopback ``host`` when auth is off, unless allowed; the warning to print, if any."""
    settings = settings or get_settings()
    check_production(settings)
    if settings.api_token:
        return None
    if is_loopback(host):
        return "WARNING: LEPTON_API_TOKEN is not set: authentication is OFF (fine on loopback, for development)"
    if not (allow_public or settings.allow_public):
        raise UserError(f"refusing to listen on {host} with authentication off: set LEPTON_API_TOKEN, or pass "
                        "--allow-public (LEPTON_ALLOW_PUBLIC=1) to serve without a token on purpose")
    return (f"WARNING: authentication is OFF and the service listens on {host}: anyone who can reach this "
            "address can read and change its data (set LEPTON_API_TOKEN)")


def pseudonym(value: Any, settings: Settings | None = None) -> str:
    """A keyed, stable stand-in for a personal id: the same id gives the same pseudonym under one salt."""
    salt = (settings or get_settings()).id_salt.encode()
    return "p:" + hmac.new(salt, str(value).encode(), hashlib.sha256).hexdigest()[:16]


def keyed_hash(value: Any, settings: Settings | None = None) -> str:
    """The keyed SHA-256 of a request body (the prediction log's ``input_hash``)."""
    raw = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True, default=str).encode()
    return hmac.new((settings or get_settings()).id_salt.encode(), raw, hashlib.sha256).hexdigest()


def pseudonymise(value: Any) -> Any:
    """``value`` with every :data:`PERSONAL_ID_KEYS` entry, at any depth, replaced by its :func:`pseudonym`."""
    if isinstance(value, dict):
        return {k: pseudonym(v) if k in PERSONAL_ID_KEYS and v is not None else pseudonymise(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pseudonymise(v) for v in value]
    return value
