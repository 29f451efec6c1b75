"""Public data sets: the manifest in ``data/manifest.json`` and a checked download.

The machines this suite runs on are often offline; a download therefore fails
with one clear sentence saying where to put the file by hand, and every file is
verified against its checksum before use.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from lepton_shared.errors import UserError
from lepton_shared.settings import get_settings

MANIFEST = Path(__file__).resolve().parents[1] / "data" / "manifest.json"


def sha256_file(path: Path, chunk: int = 1 << 20, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(obj: Any) -> str:
    """A short, stable fingerprint of a file, a folder, a DataFrame or any JSON-able value."""
    digest = hashlib.sha256()
    if isinstance(obj, (str, Path)) and Path(obj).exists():
        path = Path(obj)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(path if path.is_dir() else path.parent)).encode())
            digest.update(sha256_file(f).encode())
    elif isinstance(obj, pd.DataFrame):
        digest.update(pd.util.hash_pandas_object(obj, index=False).to_numpy().tobytes())
    else:
        digest.update(json.dumps(obj, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    return {d["name"]: d for d in json.loads(path.read_text())["datasets"]}


def download(name: str, dest_dir: Path | None = None, manifest: Path = MANIFEST, timeout: float = 30.0) -> Path:
    """Fetch a manifest data set once, verify its checksum (SHA-256, or MD5 where only that is published)."""
    entries = load_manifest(manifest)
    if name not in entries:
        raise UserError(f"unknown data set {name!r}; known: {', '.join(sorted(entries)) or 'none'}")
    entry = entries[name]
    dest_dir = dest_dir or get_settings().cache_dir / "datasets"
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / entry["filename"]
    algorithm = "sha256" if "sha256" in entry else "md5"  # MedMNIST publishes MD5 sums only
    expected = entry[algorithm]
    if target.exists() and sha256_file(target, algorithm=algorithm) == expected:
        return target
    tmp = Path(tempfile.mkstemp(prefix=".part-", dir=dest_dir)[1])
    try:
        try:
            with urllib.request.urlopen(entry["url"], timeout=timeout) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise UserError(
                f"cannot download {name} from {entry['url']} ({exc.__class__.__name__}: {exc}); this machine "
                f"may be offline: download it elsewhere and pass the file with --data, or place it at {target}"
            ) from None
        actual = sha256_file(tmp, algorithm=algorithm)
        if actual != expected:
            raise UserError(f"checksum mismatch for {name}: expected {algorithm} {expected[:12]}…, got {actual[:12]}…")
        tmp.replace(target)
        return target
    finally:
        tmp.unlink(missing_ok=True)
