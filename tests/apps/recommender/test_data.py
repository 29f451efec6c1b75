"""Loaders, validation, the built-in shop, and MovieLens downloads (checked, offline-safe) feeding the loader."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from apps.recommender.data import builtin_spec, clean_interactions, generate_shop, load_interactions
from lepton_shared.data import MANIFEST, download, load_manifest, sha256_file
from lepton_shared.errors import UserError

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n2\t30\t1\t881250952\n3\t20\t2\t881250953\n"
U_ITEM = ("10|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
          "20|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
          "30|Four Rooms (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,3.5,964982224\n"
MOVIES = "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,Grumpier Old Men (1995),Comedy|Romance\n"


def test_plain_csv_with_catalogue_beside_it(interactions_csv: Path) -> None:
    data = load_interactions(interactions_csv)
    assert len(data) == 240 and data.n_users == 40 and data.n_items == 24
    assert set(data.frame.columns) == {"user_id", "item_id", "weight", "timestamp"}
    row = data.catalogue.set_index("item_id").loc["item7"]
    assert row["title"] == "Item number 7" and row["category"] == "cat1"


def test_movielens_100k_files(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text(U_DATA)
    (tmp_path / "u.item").write_bytes(U_ITEM.encode("latin-1"))
    data = load_interactions(tmp_path)  # the folder is enough
    assert len(data) == 5 and data.n_users == 3 and data.n_items == 3
    cat = data.catalogue.set_index("item_id")
    assert cat.loc["10", "title"] == "Toy Story (1995)" and cat.loc["10", "category"] == "Animation"
    assert cat.loc["20", "category"] == "Action"
    assert data.frame["timestamp"].iloc[0] == 881250949


def test_movielens_ratings_csv_and_zip(tmp_path: Path) -> None:
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "ratings.csv").write_text(RATINGS)
    (folder / "movies.csv").write_text(MOVIES)
    data = load_interactions(folder / "ratings.csv")
    assert data.n_users == 2 and data.n_items == 2
    assert data.catalogue.set_index("item_id").loc["3", "category"] == "Comedy"
    archive = tmp_path / "ml-latest-small.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "ratings.csv", "ml-latest-small/ratings.csv")
        zf.write(folder / "movies.csv", "ml-latest-small/movies.csv")
    zipped = load_interactions(archive)
    assert zipped.frame.equals(data.frame)
    archive100k = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive100k, "w") as zf:
        zf.writestr("ml-100k/u.data", U_DATA)
        zf.writestr("ml-100k/u.item", U_ITEM.encode("latin-1"))
    assert load_interactions(archive100k).catalogue.set_index("item_id").loc["30", "title"] == "Four Rooms (1995)"


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty"),
    ("user_id,item_id\n", "no interaction rows"),
    ("who,what\na,b\n", "needs a user column"),
    ("user_id,item_id,weight\na,b,-1\nc,d,1\n", "negative"),
    ("user_id,item_id,weight\na,b,lots\n", "must be numeric"),
    ("user_id,item_id\na,\n", "empty user or item id"),
    ("user_id,item_id,weight\na,b,0\n", "no interaction with a positive weight"),
])
def test_bad_files_are_clear_user_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_interactions(path)


def test_bad_zip_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a valid zip"):
        load_interactions(tmp_path / "broken.zip")
    with pytest.raises(UserError, match="not found"):
        load_interactions(tmp_path / "missing.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no"):
        load_interactions(tmp_path / "empty")


def test_duplicates_are_merged_with_a_note() -> None:
    import pandas as pd

    raw = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "x"], "rating": [1.0, 2.0, 1.0],
                        "ts": [10, 20, 5]})
    frame, notes = clean_interactions(raw, "test")
    assert len(frame) == 2
    merged = frame.set_index(["user_id", "item_id"]).loc[("a", "x")]
    assert merged["weight"] == 3.0 and merged["timestamp"] == 20
    assert any("duplicate" in n for n in notes)


def test_builtin_shop_is_deterministic_and_long_tailed() -> None:
    spec = builtin_spec(tiny=True)
    a, b = generate_shop(**spec), generate_shop(**spec)
    assert a.frame.equals(b.frame)
    assert not generate_shop(**{**spec, "seed": 7}).frame.equals(a.frame)
    counts = a.frame["item_id"].value_counts().to_numpy()
    top_decile = counts[: max(1, len(counts) // 10)].sum() / counts.sum()
    assert top_decile > 0.2  # the most popular 10 % of items get well over 10 % of interactions
    assert not a.frame.duplicated(["user_id", "item_id"]).any()
    assert set(a.catalogue["item_id"]) == set(a.frame["item_id"])
    assert a.catalogue["category"].nunique() == spec["n_categories"]
    assert np.isfinite(a.frame["timestamp"]).all()


def test_builtin_spec_sizes() -> None:
    big = builtin_spec(interactions=1_000_000)
    assert big["n_users"] * big["mean_interactions"] == pytest.approx(1_000_000, rel=0.01)
    with pytest.raises(UserError):
        builtin_spec(interactions=5)


def test_manifest_lists_movielens_with_checksums() -> None:
    entries = load_manifest()
    for name in ("ml-100k", "ml-latest-small"):
        entry = entries[name]
        assert entry["url"].startswith("https://files.grouplens.org/datasets/movielens/")
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), entry["sha256"]  # a SHA-256 as hexdigest() writes it
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
    payload = source.read_bytes()
    real = hashlib.sha256(payload).hexdigest()
    assert sha256_file(source) == real
    path = download("ml-mini", dest_dir=tmp_path / "cache", manifest=_manifest(tmp_path, source.as_uri(), real))
    assert path.read_bytes() == payload and hashlib.sha256(path.read_bytes()).hexdigest() == real
    assert len(load_interactions(path)) == 3

    # the checksum of almost the same bytes (one byte changed) is refused, and nothing is kept
    wrong = hashlib.sha256(payload[:-1] + bytes([payload[-1] ^ 1])).hexdigest()
    assert wrong != real
    path.unlink()
    refused = f"checksum mismatch for ml-mini: expected sha256 {wrong[:12]}.*got {real[:12]}"
    with pytest.raises(UserError, match=refused):
        download("ml-mini", dest_dir=tmp_path / "cache", manifest=_manifest(tmp_path, source.as_uri(), wrong))
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written

    # a cached file that does not match the checksum is fetched again, not trusted
    path.write_bytes(b"corrupted")
    again = download("ml-mini", dest_dir=tmp_path / "cache", manifest=_manifest(tmp_path, source.as_uri(), real))
    assert again == path and hashlib.sha256(again.read_bytes()).hexdigest() == real


def test_download_offline_is_a_clear_error(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "http://127.0.0.1:9/ml-mini.zip", "0" * 64)
    with pytest.raises(UserError, match="offline"):
        download("ml-mini", dest_dir=tmp_path / "cache", manifest=manifest, timeout=2)
