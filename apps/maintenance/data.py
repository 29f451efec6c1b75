"""The app's data: run-to-failure histories read from files, and the built-in simulated fleets.

Files become one canonical table: ``unit`` (machine id), ``cycle`` (increasing time), operating
settings ``setting_*``, sensors ``s_*`` and, where the truth is known, ``rul`` (cycles left before
failure). Three formats are understood:

* NASA C-MAPSS text (``train_FD00x.txt``: run to failure; ``test_FD00x.txt``: cut
  short, with the true RUL at the last cycle in ``RUL_FD00x.txt`` beside it);
* the AI4I 2020 predictive-maintenance CSV (one production line, failures flagged);
* a generic CSV: a machine id column, a time column, numeric sensor columns and
  an optional 0/1 failure column (without it, each machine is assumed to run to
  failure at its last row).

Bad files fail with one sentence that names the file, the column and the fix. Without a file the
app trains and evaluates on fleets from ``simulator.py`` (no download needed).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from apps.maintenance.simulator import simulate_fleet
from lepton_shared.errors import UserError

CMAPSS_COLUMNS = ["unit", "cycle", "setting_1", "setting_2", "setting_3", *[f"s_{i}" for i in range(1, 22)]]
ID_COLUMNS = ("machine_id", "unit", "machine", "id")
TIME_COLUMNS = ("time", "cycle", "timestamp", "t")
FAILURE_COLUMNS = ("failure", "failed", "machine failure")
SIMULATOR = "simulator"  # the ``source`` of a version trained on the built-in fleet
EVALUATION_SEED_OFFSET = 777  # the built-in evaluation fleet never shares a machine with the training fleet
DEMO_LIFE_SHARES = (0.5, 0.95, 0.7, 0.85, 0.3, 0.9)  # how far through its life each demo machine is


def load_training_data(path: Path | None, machines: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The histories to train on and where they come from: ``path``, or ``machines`` simulated ones."""
    if path is None:
        return simulate_fleet(machines, seed=seed), SIMULATOR
    return load_history(path), str(path)


def load_evaluation_data(path: Path | None, machines: int, seed: int) -> tuple[pd.DataFrame, bool]:
    """The histories to score and whether only each machine's last cycle counts (C-MAPSS test files, whose
    true RUL is known at the last cycle only)."""
    if path is None:
        return simulate_fleet(machines, seed=seed + EVALUATION_SEED_OFFSET), False
    return load_history(path), Path(path).name.lower().startswith("test")


def demo_lives() -> pd.DataFrame:
    """The whole lives, to failure, of the six simulated machines of the demo fleet."""
    return simulate_fleet(len(DEMO_LIFE_SHARES), seed=2024)


def demo_fleet() -> pd.DataFrame:
    """Six simulated machines seen part-way through their lives (what the page offers to an empty fleet)."""
    fleet = demo_lives()
    cut = {unit: int(len(group) * share)
           for (unit, group), share in zip(fleet.groupby("unit"), DEMO_LIFE_SHARES, strict=True)}
    return fleet[fleet["cycle"] <= fleet["unit"].map(cut)].reset_index(drop=True)


def demo_machine_id(unit: object) -> str:
    """How the service names a demo machine (``M1`` … ``M6``)."""
    return f"M{unit}"


def demo_machine_ids() -> list[str]:
    """The ids of the demo fleet's machines (the simulator numbers its units from 1)."""
    return [demo_machine_id(unit) for unit in range(1, len(DEMO_LIFE_SHARES) + 1)]


def reading_columns(frame: pd.DataFrame) -> list[str]:
    """The columns a machine sends as readings: operating settings and sensors."""
    return [c for c in frame.columns if str(c).startswith(("s_", "setting_"))]


def split_units(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and validation rows, ``share`` of the machines (whole histories) held out at random."""
    units = np.sort(frame["unit"].unique())
    if len(units) < 2:
        raise UserError("need at least two machines to hold one out for validation")
    rng = np.random.default_rng(seed)
    val = rng.choice(units, max(1, round(len(units) * share)), replace=False)
    mask = frame["unit"].isin(val)
    return frame[~mask], frame[mask]


def load_history(path: Path) -> pd.DataFrame:
    """Any supported file -> canonical table (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"data not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder: pass one file (e.g. train_FD001.txt or a CSV)")
    if path.suffix.lower() == ".txt":
        return load_cmapss(path)
    try:
        head = pd.read_csv(path, nrows=5)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path} is not a readable CSV file ({exc.__class__.__name__})") from None
    if {"Product ID", "Machine failure"} <= set(head.columns):
        return load_ai4i(path)
    return load_generic_csv(path)


def load_cmapss(path: Path) -> pd.DataFrame:
    """C-MAPSS ``train_/test_FD00x.txt`` (26 space-separated numeric columns)."""
    try:
        raw = pd.read_csv(path, sep=r"\s+", header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a C-MAPSS text file ({exc.__class__.__name__})") from None
    if raw.shape[1] != 26:
        raise UserError(f"{path} has {raw.shape[1]} columns; C-MAPSS files have 26 (unit, cycle, 3 settings, "
                        "21 sensors)")
    raw.columns = CMAPSS_COLUMNS
    if not all(np.issubdtype(t, np.number) for t in raw.dtypes):
        bad = next(c for c, t in raw.dtypes.items() if not np.issubdtype(t, np.number))
        raise UserError(f"{path}: column {bad} holds non-numeric values")
    frame = _validate(raw.astype({"unit": int}), path, "unit", "cycle")
    if path.name.lower().startswith("test"):
        rul_path = path.with_name(re.sub(r"^test", "RUL", path.name, flags=re.IGNORECASE))
        if not rul_path.exists():
            raise UserError(f"{path} is a C-MAPSS test file but {rul_path.name} (true RUL per engine) is not "
                            "beside it")
        truth = pd.read_csv(rul_path, sep=r"\s+", header=None)[0].to_numpy(dtype=float)
        units = np.sort(frame["unit"].unique())
        if len(truth) != len(units):
            raise UserError(f"{rul_path.name} has {len(truth)} rows but {path.name} has {len(units)} engines")
        final = dict(zip(units, truth, strict=True))
        last = frame.groupby("unit")["cycle"].transform("max")
        frame["rul"] = frame["unit"].map(final) + (last - frame["cycle"])
    else:
        frame["rul"] = (frame.groupby("unit")["cycle"].transform("max") - frame["cycle"]).astype(float)
    return frame


def load_ai4i(path: Path) -> pd.DataFrame:
    """AI4I 2020: one production line; rows in UDI order, ``Machine failure`` flags failures."""
    raw = pd.read_csv(path)
    sensors = {"Air temperature [K]": "s_air_temp", "Process temperature [K]": "s_process_temp",
               "Rotational speed [rpm]": "s_speed", "Torque [Nm]": "s_torque", "Tool wear [min]": "s_tool_wear"}
    missing = [c for c in [*sensors, "UDI", "Machine failure"] if c not in raw.columns]
    if missing:
        raise UserError(f"{path} looks like AI4I 2020 but lacks column(s) {', '.join(missing)}")
    frame = raw.rename(columns=sensors)[["UDI", *sensors.values(), "Machine failure"]]
    frame = frame.rename(columns={"UDI": "cycle", "Machine failure": "failure"})
    frame.insert(0, "unit", 1)
    return _with_failure_rul(_validate(frame, path, "unit", "cycle"))


def load_generic_csv(path: Path) -> pd.DataFrame:
    """Machine id, time, numeric sensors, optional failure flag (column names are case-insensitive)."""
    raw = pd.read_csv(path)
    lower = {c.lower().strip(): c for c in raw.columns}
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    time_col = next((lower[c] for c in TIME_COLUMNS if c in lower), None)
    if id_col is None or time_col is None:
        need = "a machine id column (machine_id or unit)" if id_col is None else "a time column (time or cycle)"
        raise UserError(f"{path} needs {need}; found columns: {', '.join(map(str, raw.columns))}")
    fail_col = next((lower[c] for c in FAILURE_COLUMNS if c in lower), None)
    sensors = [c for c in raw.columns if c not in (id_col, time_col, fail_col)]
    non_numeric = [c for c in sensors if not pd.api.types.is_numeric_dtype(raw[c])]
    if non_numeric:
        raise UserError(f"{path}: sensor column {non_numeric[0]!r} is not numeric; remove it or convert it")
    if not sensors:
        raise UserError(f"{path} has no sensor columns besides {id_col} and {time_col}")
    frame = pd.DataFrame({"unit": raw[id_col], "cycle": raw[time_col]})
    for c in sensors:
        frame[c if str(c).startswith(("s_", "setting_")) else f"s_{c}"] = raw[c]
    if fail_col is not None:
        frame["failure"] = raw[fail_col]
    frame = _validate(frame, path, "unit", "cycle")
    if fail_col is None:
        frame["rul"] = (frame.groupby("unit")["cycle"].transform("max") - frame["cycle"]).astype(float)
        return frame
    return _with_failure_rul(frame)


def _validate(frame: pd.DataFrame, path: Path, unit: str, time: str) -> pd.DataFrame:
    if frame.empty:
        raise UserError(f"{path} has no rows")
    values = [c for c in frame.columns if c.startswith(("s_", "setting_"))]
    nan_cols = [c for c in [unit, time, *values] if frame[c].isna().any()]
    if nan_cols:
        col = nan_cols[0]
        row = int(np.flatnonzero(frame[col].isna().to_numpy())[0]) + 1
        raise UserError(f"{path}: column {col} has missing (NaN) values, first at data row {row}; fill or drop "
                        "those rows")
    if not pd.api.types.is_numeric_dtype(frame[time]):
        raise UserError(f"{path}: time column must be numeric (cycles or seconds)")
    steps = frame.groupby(unit, sort=False)[time].diff()
    if (steps <= 0).any():
        row = int(np.flatnonzero((steps <= 0).to_numpy())[0])
        raise UserError(f"{path}: time is not strictly increasing for machine {frame[unit].iloc[row]} at data row "
                        f"{row + 1}; sort the file by machine and time and remove duplicates")
    return frame.reset_index(drop=True)


def _with_failure_rul(frame: pd.DataFrame) -> pd.DataFrame:
    """RUL = rows until the next flagged failure of the same machine; rows after the last failure are
    censored (RUL unknown, NaN) and are left out of training."""
    fail = frame["failure"].to_numpy(dtype=float)
    if not np.isin(fail, (0, 1)).all():
        raise UserError("failure column must hold 0 or 1")
    rul = np.full(len(frame), np.nan)
    for _, idx in frame.groupby("unit", sort=False).indices.items():
        nxt = np.nan
        for pos in idx[::-1]:
            if fail[pos] == 1:
                nxt = pos
            rul[pos] = nxt - pos if not np.isnan(nxt) else np.nan
    frame = frame.copy()
    frame["rul"] = rul
    if np.isnan(rul).all():
        raise UserError("no failures flagged in the failure column: RUL cannot be learned from this file")
    return frame
