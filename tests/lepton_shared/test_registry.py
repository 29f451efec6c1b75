from pathlib import Path

import pytest

from lepton_shared.errors import NotFoundError, NotReadyError, UserError
from lepton_shared.registry import Registry


def _writer(text: str):
    def write(folder: Path) -> None:
        (folder / "model.txt").write_text(text)
    return write


def test_register_versions_and_production(lepton_db_home: Path) -> None:
    reg = Registry()
    with pytest.raises(NotReadyError, match="lepton demo train"):
        reg.get("demo")
    v1 = reg.register("demo", _writer("one"), metrics={"accuracy": 0.5}, data_fingerprint="abc")
    v2 = reg.register("demo", _writer("two"), metrics={"accuracy": 0.7})
    assert (v1.version, v2.version) == ("v1", "v2")
    prod = reg.get("demo")
    assert prod.version == "v2" and (prod.path / "model.txt").read_text() == "two"
    assert prod.metrics == {"accuracy": 0.7} and prod.code_version
    assert reg.get("demo", "v1").stage == "candidate"
    assert [i.version for i in reg.list("demo")] == ["v1", "v2"]


def test_no_promote_keeps_production(lepton_db_home: Path) -> None:
    reg = Registry()
    reg.register("demo", _writer("one"))
    reg.register("demo", _writer("two"), promote=False)
    assert reg.get("demo").version == "v1"


def test_promote_and_rollback(lepton_db_home: Path) -> None:
    reg = Registry()
    for text in ("a", "b", "c"):
        reg.register("demo", _writer(text))
    reg.promote("demo", "v1")
    assert reg.get("demo").version == "v1"
    assert reg.rollback("demo").version == "v3"
    assert reg.rollback("demo").version == "v2"
    with pytest.raises(NotFoundError, match="v9"):
        reg.promote("demo", "v9")


def test_rollback_without_history_is_user_error(lepton_db_home: Path) -> None:
    reg = Registry()
    with pytest.raises(UserError):
        reg.rollback("demo")
    reg.register("demo", _writer("a"))
    with pytest.raises(UserError, match="earlier"):
        reg.rollback("demo")


def test_crash_while_writing_leaves_no_version(lepton_db_home: Path) -> None:
    reg = Registry()

    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        reg.register("demo", broken)
    assert reg.list("demo") == []
    app_dir = reg.root / "demo"
    assert not any(app_dir.iterdir())  # the temporary folder was removed
    assert reg.register("demo", _writer("ok")).version == "v1"


def test_unknown_version_lists_known_ones(lepton_db_home: Path) -> None:
    reg = Registry()
    reg.register("demo", _writer("a"))
    with pytest.raises(NotFoundError, match="known: v1"):
        reg.get("demo", "v7")
