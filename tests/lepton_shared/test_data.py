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


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A local HTTP server (a thread) serving a folder the test writes: downloads are tested without the internet."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_lepton_data_downloads_over_http_with_progress(served: tuple[Path, str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import lepton_shared.data as data
    from lepton_shared.cli.main import main
    from lepton_shared.testing.env import lepton_env

    root, base = served
    payload = bytes(range(256)) * 2000  # 512 KB: several read blocks
    (root / "tiny.csv").write_bytes(payload)
    monkeypatch.setattr(data, "MANIFEST", _manifest(tmp_path, f"{base}/tiny.csv",
                                                    hashlib.sha256(payload).hexdigest()))
    with lepton_env(tmp_path / "home"), pytest.raises(SystemExit) as done:
        main(["data", "tiny"])
    out, err = capsys.readouterr()
    assert done.value.code == 0
    path = Path(out.strip())
    assert path.read_bytes() == payload and path.parent == (tmp_path / "home" / "cache" / "datasets").resolve()
    assert "tiny" in err and "100%" in err  # the progress bar, on stderr only

    (root / "tiny.csv").write_bytes(b"changed upstream")
    path.unlink()
    with lepton_env(tmp_path / "home"), pytest.raises(SystemExit) as done:
        main(["data", "tiny"])
    assert done.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the bar, one line says why
    assert last.startswith("error: checksum mismatch")
    assert not path.exists()


def test_lepton_data_unknown_name_and_offline_are_one_line(served: tuple[Path, str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import lepton_shared.data as data
    from lepton_shared.cli.main import main
    from lepton_shared.testing.env import lepton_env

    _, base = served
    cases = ((f"{base}/missing.csv", "nope", "unknown data set 'nope'; known: tiny"),
             (f"{base}/missing.csv", "tiny", "answered HTTP 404"),
             ("http://127.0.0.1:9/unreachable.csv", "tiny", "may be offline"))
    for url, name, expected in cases:
        monkeypatch.setattr(data, "MANIFEST", _manifest(tmp_path, url, "0" * 64))
        with lepton_env(tmp_path / "home"), pytest.raises(SystemExit) as done:
            main(["data", name])
        err = capsys.readouterr().err
        assert done.value.code == 2 and expected in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
