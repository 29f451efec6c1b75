"""``make bench``: run each app's benchmark and collect the sections into docs/BENCHMARKS.md.

Each ``benchmarks/<app>.py`` exposes ``run(shared: Path) -> str`` returning a
Markdown section that states its figures and the commands that produced them; it is
written to ``docs/benchmarks/<app>.md`` and overwritten by the next run. Notes written
by people (analysis, caveats, earlier runs) live in ``docs/benchmarks/notes/<app>.md``,
which ``make bench`` never writes and appends after the app's section.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ROOT / "docs" / "benchmarks"
NOTES = SECTIONS / "notes"
OUT = ROOT / "docs" / "BENCHMARKS.md"
#: harnesses that span apps and take hours, so plain ``make bench`` leaves them out: ``benchmarks/tuning.py``
#: (``make bench-tuning``) and ``benchmarks/seeds.py`` (``make bench-seeds``)
SPANNING = ("tuning", "seeds")


def shared_dir() -> Path:
    return Path(os.environ.get("LEPTON_SHARED", ROOT.parent / "shared")).resolve()


def collect() -> None:
    from lepton_shared.manifest import app_names

    order = app_names()
    parts = [
        "# Benchmarks\n",
        "Produced by `make bench` (or `make bench-<app>`), which runs `python -m benchmarks.run <app>`; each "
        "section below was written by `benchmarks/<app>.py` and names the exact commands it ran. Data: the public "
        "sets in `../shared/datasets` (see their licenses there), read through the apps' own `--data` loaders.\n",
    ]
    for name in [*order, *SPANNING]:
        for path in (SECTIONS / f"{name}.md", NOTES / f"{name}.md"):
            if path.exists():
                parts.append(path.read_text().strip() + "\n")
    OUT.write_text("\n".join(parts))


def main(apps: list[str]) -> None:
    SECTIONS.mkdir(parents=True, exist_ok=True)
    shared = shared_dir()
    for name in apps:
        module = importlib.import_module(f"benchmarks.{name}")
        started = datetime.now(UTC)
        write_section(name, module.run(shared), started)


def write_section(name: str, section: str, started: datetime) -> None:
    """``docs/benchmarks/<name>.md`` with when and where it was measured, then docs/BENCHMARKS.md again."""
    footer = (f"\n_Measured {started:%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} CPU cores, "
              f"Python {platform.python_version()}._\n")
    SECTIONS.mkdir(parents=True, exist_ok=True)
    (SECTIONS / f"{name}.md").write_text(section.strip() + "\n" + footer)
    collect()
    print(f"wrote the {name} section of {OUT}", file=sys.stderr)


def _known() -> list[str]:
    """What ``python -m benchmarks.run NAME`` accepts: every app, and the harnesses that span apps."""
    from lepton_shared.manifest import app_names

    return [*app_names(), *SPANNING]


if __name__ == "__main__":
    args = sys.argv[1:]
    if {"-h", "--help"} & set(args):
        print(f"usage: python -m benchmarks.run [NAME ...]   (NAME: {', '.join(_known())}; default: every app)\n")
        print(__doc__)
        sys.exit(0)
    unknown = [name for name in args if name not in _known()]
    if unknown:
        sys.exit(f"error: no benchmark named {', '.join(unknown)} (known: {', '.join(_known())})")
    main(args or [name for name in _known() if name not in SPANNING])
