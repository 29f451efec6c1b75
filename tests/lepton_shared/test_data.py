import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from lepton_shared.data import download, fingerprint, sha256_file
from lepton_shared.errors import UserError


def _manifest(tmp_path: Path, url: str, sha: str) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"datasets": [{"name": "tiny", "url": url, "filename": "tiny.csv",
                                              "sha256": sha, "license": "test"}]}))
    return path


def test_download_verifies_checksum(tmp_path: Path) -> None:
    src = tmp_path / "src.csv"
    src.write_text("a,b\n1,2\n")
    manifest = _manifest(tmp_path, src.as_uri(), hashlib.sha256(src.read_bytes()).hexdigest())
    got = download("tiny", dest_dir=tmp_path / "cache", manifest=manifest)
    assert got.read_text() == "a,b\n1,2\n" and sha256_file(got) == sha256_file(src)


def test_checksum_mismatch_leaves_no_file(tmp_path: Path) -> None:
    src = tmp_path / "src.csv"
    src.write_text("tampered\n")
    manifest = _manifest(tmp_path, src.as_uri(), "0" * 64)
    with pytest.raises(UserError, match="checksum mismatch"):
        download("tiny", dest_dir=tmp_path / "cache", manifest=manifest)
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_gives_clear_error(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "http://127.0.0.1:9/unreachable.csv", "0" * 64)
    with pytest.raises(UserError, match="offline"):
        download("tiny", dest_dir=tmp_path / "cache", manifest=manifest, timeout=2)


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown data set"):
        download("nope", manifest=_manifest(tmp_path, "file:///x", "0"))


def test_fingerprint_is_stable_and_sensitive(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2]})
    assert fingerprint(df) == fingerprint(df.copy())
    assert fingerprint(df) != fingerprint(pd.DataFrame({"a": [1, 3]}))
    f = tmp_path / "f.txt"
    f.write_text("x")
    first = fingerprint(f)
    f.write_text("y")
    assert fingerprint(f) != first


def test_shipped_manifest_entries_are_complete() -> None:
    from lepton_shared.data import load_manifest

    for name, entry in load_manifest().items():
        assert entry["url"].startswith("https://"), name
        assert len(entry.get("sha256", "")) == 64 or len(entry.get("md5", "")) == 32, name
        assert entry.get("license"), name
