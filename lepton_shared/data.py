"""Public data sets: the manifest in ``data/manifest.json`` and a checked download.

The machines this suite runs on are often offline; a download therefore fails
with one clear sentence saying where to put the file by hand, and every file is
verified against its checksum before use.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

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
    elif (pd := sys.modules.get("pandas")) is not None and isinstance(obj, pd.DataFrame):
        # pandas is imported by whoever made a DataFrame; the CLI's start-up (which reads manifests here) skips it
        digest.update(pd.util.hash_pandas_object(obj, index=False).to_numpy().tobytes())
    else:
        digest.update(json.dumps(obj, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def load_manifest(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or MANIFEST
    if not path.exists():
        return {}
    return {d["name"]: d for d in json.loads(path.read_text())["datasets"]}


def _copy_with_progress(resp: Any, out: BinaryIO, name: str, progress: bool, chunk: int = 1 << 16) -> None:
    """Copy the response to ``out`` behind a tqdm bar on stderr (sized when the server sends Content-Length),
    so a download of hundreds of megabytes on a slow link does not look like a hang."""
    from tqdm.auto import tqdm

    length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) is not None else None
    total = int(length) if length and str(length).isdigit() else None
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=not progress,
              file=sys.stderr) as bar:
        while block := resp.read(chunk):
            out.write(block)
            bar.update(len(block))


def download(name: str, dest_dir: Path | None = None, manifest: Path | None = None, timeout: float = 30.0,
             progress: bool = False) -> Path:
    """Fetch a manifest data set once, verify its checksum (SHA-256, or MD5 where only that is published).

    ``progress`` shows a progress bar on stderr (the CLI's ``lepton data``)."""
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
                _copy_with_progress(resp, out, name, progress)
        except urllib.error.HTTPError as exc:
            raise UserError(f"cannot download {name}: {entry['url']} answered HTTP {exc.code} {exc.reason}") from None
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
