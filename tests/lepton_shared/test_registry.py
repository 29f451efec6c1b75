import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from lepton_shared.errors import NotFoundError, NotReadyError, UserError
from lepton_shared.registry import ModelInfo, Registry
from lepton_shared.spawn import hidden_main


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


def test_production_version_names_what_get_loads(lepton_db_home: Path) -> None:
    reg = Registry()
    assert reg.production_version("demo") is None
    reg.register("demo", _writer("a"))
    reg.register("demo", _writer("b"), promote=False)
    assert reg.production_version("demo") == reg.get("demo").version == "v1"
    reg.promote("demo", "v2")
    assert reg.production_version("demo") == "v2"
    reg.rollback("demo")
    assert reg.production_version("demo") == reg.get("demo").version == "v1"
    assert reg.production_version("other") is None


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


def test_every_promotion_and_rollback_is_in_the_history(lepton_db_home: Path) -> None:
    reg = Registry()
    reg.register("demo", _writer("a"))
    reg.register("demo", _writer("b"), promote=False)
    reg.promote("demo", "v2", reason="looks better", actor="alice")
    reg.rollback("demo")
    history = reg.history("demo")
    assert [(r.action, r.version, r.previous_version) for r in history] == [
        ("promote", "v1", None), ("promote", "v2", "v1"), ("rollback", "v1", "v2")]
    assert (history[1].actor, history[1].reason) == ("alice", "looks better")
    assert history[2].reason == "rolled back from v2" and history[2].actor  # the OS user by default
    assert history[0].metric == "" and history[0].value is None  # an app without a manifest has no key metric
    assert reg.history("other") == []


def test_a_gate_decides_inside_registration(lepton_db_home: Path) -> None:
    reg = Registry()
    seen: list[tuple[str, str | None]] = []

    def gate(new: ModelInfo, production: ModelInfo | None) -> tuple[bool, str]:
        seen.append((new.version, production.version if production else None))
        return new.version != "v2", f"decided on {new.version}"

    assert reg.register("demo", _writer("a"), promote=gate).stage == "production"
    assert reg.register("demo", _writer("b"), promote=gate).stage == "candidate"
    assert seen == [("v1", None), ("v2", "v1")]
    assert [r.reason for r in reg.history("demo")] == ["decided on v1"]


def _register_in_another_process(home: str, database_url: str, tag: str, barrier: Any) -> None:
    """One of two processes that register the same app at the same moment (after writing their files)."""
    from lepton_shared.testing.env import lepton_env

    def write(folder: Path) -> None:
        (folder / "model.txt").write_text(tag)
        barrier.wait(timeout=60)  # both artifacts written: both now look for the next number together

    with lepton_env(Path(home), database_url=database_url):
        Registry().list("demo")  # connected and migrated: nothing slow left between the barrier and the race
        Registry().register("demo", write, metrics={"tag": tag})


def test_concurrent_registers_get_distinct_versions_with_their_own_files(lepton_db_home: Path,
                                                                         database_url: str) -> None:
    assert Registry().list("demo") == []  # the schema exists before the race (migrations are not under test)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_register_in_another_process, args=(str(lepton_db_home), database_url, tag, barrier))
               for tag in ("first", "second")]
    with hidden_main():  # after a Streamlit page test, __main__ is that page: a spawn child would run it
        for worker in workers:
            worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    infos = Registry().list("demo")
    assert sorted(i.version for i in infos) == ["v1", "v2"]
    assert sorted(i.metrics["tag"] for i in infos) == ["first", "second"]
    for info in infos:  # each row's files are the ones registered with its metrics
        assert (info.path / "model.txt").read_text() == info.metrics["tag"]
    assert sorted(p.name for p in (Registry().root / "demo").iterdir()) == ["v1", "v2"]
