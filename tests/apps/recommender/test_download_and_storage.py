"""MovieLens manifest entries and the checked download (offline-safe), and the app's migration."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from apps.recommender.data import load_interactions
from lepton_shared.data import MANIFEST, download, load_manifest, sha256_file
from lepton_shared.errors import UserError


def test_manifest_lists_movielens_with_checksums() -> None:
    entries = load_manifest()
    for name in ("ml-100k", "ml-latest-small"):
        entry = entries[name]
        assert entry["url"].startswith("https://files.grouplens.org/datasets/movielens/")
        assert len(entry["sha256"]) == 64 and int(entry["sha256"], 16) >= 0
        assert entry["license"]
    assert MANIFEST.exists()


def _manifest(tmp_path: Path, url: str, sha: str) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"datasets": [{"name": "ml-mini", "url": url, "filename": "ml-mini.zip",
                                              "sha256": sha, "license": "test"}]}))
    return path


def test_download_checks_sha256_and_feeds_the_loader(tmp_path: Path) -> None:
    source = tmp_path / "source.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("ml-mini/u.data", "1\t10\t5\t881250949\n2\t10\t4\t881250951\n2\t20\t3\t881250952\n")
    manifest = _manifest(tmp_path, source.as_uri(), sha256_file(source))
    path = download("ml-mini", dest_dir=tmp_path / "cache", manifest=manifest)
    assert len(load_interactions(path)) == 3
    bad = _manifest(tmp_path, source.as_uri(), "0" * 64)
    (tmp_path / "cache" / "ml-mini.zip").unlink()
    with pytest.raises(UserError, match="checksum mismatch"):
        download("ml-mini", dest_dir=tmp_path / "cache", manifest=bad)
    assert not (tmp_path / "cache" / "ml-mini.zip").exists()  # nothing half-written


def test_download_offline_is_a_clear_error(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "http://127.0.0.1:9/ml-mini.zip", "0" * 64)
    with pytest.raises(UserError, match="offline"):
        download("ml-mini", dest_dir=tmp_path / "cache", manifest=manifest, timeout=2)


def test_migration_creates_the_events_table(lepton_db_home: Path) -> None:
    from sqlalchemy import inspect

    from apps.recommender.events import EventIn, load_events, store_events
    from lepton_shared.storage import get_engine, init_db

    init_db()
    columns = {c["name"] for c in inspect(get_engine()).get_columns("recommender_events")}
    assert {"user_id", "item_id", "weight", "event_type", "occurred_at", "created_at"} <= columns
    store_events([EventIn(user_id="a", item_id="b", weight=2.5)])
    frame = load_events()
    assert frame.to_dict("records")[0]["weight"] == 2.5 and frame["timestamp"].notna().all()
