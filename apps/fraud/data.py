"""The fraud app's data: transaction files (CSV or gzip CSV with the handbook's columns, read with
readable errors), the built-in simulation, and the labelled transactions the service has scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lepton_shared.errors import UserError

REQUIRED = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"]


def find_file(path: Path) -> Path:
    """A file as given, or the single CSV / CSV.gz inside a folder."""
    if path.is_dir():
        files = sorted([*path.glob("*.csv"), *path.glob("*.csv.gz")])
        if not files:
            raise UserError(f"no .csv or .csv.gz transaction file in {path}")
        if len(files) > 1:
            raise UserError(f"{path} holds several transaction files ({', '.join(f.name for f in files)}); "
                            "pass one of them with --data")
        return files[0]
    if not path.exists():
        raise UserError(f"data not found: {path}")
    return path


def load_transactions(path: Path) -> pd.DataFrame:
    """Transactions sorted by time; extra columns (e.g. TX_FRAUD_SCENARIO) are kept but never used as features."""
    path = find_file(Path(path))
    try:
        df = pd.read_csv(path, compression="infer")
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, EOFError) as exc:
        raise UserError(f"{path} is not a readable CSV file: {str(exc).splitlines()[0]}") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty") from None
    return validate(df, str(path))


def validate(df: pd.DataFrame, source: str = "transactions") -> pd.DataFrame:
    """Check columns and values, parse dates; raise ``UserError`` naming the problem."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{source} lacks the column(s) {', '.join(missing)}; "
                        f"a transaction file needs {', '.join(REQUIRED)}")
    if df.empty:
        raise UserError(f"{source} has no transactions")
    df = df.copy()
    dates = pd.to_datetime(df["TX_DATETIME"], errors="coerce", format="ISO8601")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise UserError(f"{source}: TX_DATETIME {df['TX_DATETIME'].iloc[row]!r} on data row {row + 1} "
                        "is not a date (use e.g. 2018-04-01 00:00:31)")
    df["TX_DATETIME"] = dates
    amount = pd.to_numeric(df["TX_AMOUNT"], errors="coerce")
    bad = amount.isna() | (amount < 0) | ~np.isfinite(amount.fillna(0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"{source}: TX_AMOUNT {df['TX_AMOUNT'].iloc[row]!r} on data row {row + 1} "
                        "is missing, negative or not a number")
    df["TX_AMOUNT"] = amount.astype(float)
    for col in ("TRANSACTION_ID", "CUSTOMER_ID", "TERMINAL_ID", "TX_FRAUD"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any() or (values < 0).any() or (values != values.round()).any():
            row = int(np.flatnonzero((values.isna() | (values < 0) | (values != values.round())).to_numpy())[0])
            raise UserError(f"{source}: {col} {df[col].iloc[row]!r} on data row {row + 1} "
                            "is not a non-negative integer")
        df[col] = values.astype(np.int64)
    if not df["TX_FRAUD"].isin([0, 1]).all():
        raise UserError(f"{source}: TX_FRAUD must be 0 or 1")
    return df.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)


def builtin_source(tiny: bool = False, seed: int = 42) -> str:
    """How a model's params name the built-in simulation it was trained on (``optimize`` reads it back)."""
    from apps.fraud.simulator import builtin_config

    cfg = builtin_config(tiny=tiny, seed=seed)
    return f"built-in simulation ({cfg.n_customers} customers, {cfg.n_terminals} terminals, " \
           f"{cfg.n_days} days, seed {cfg.seed})"


def load_data(data: Path | None, tiny: bool = False, seed: int = 42,
              with_feedback: bool = False) -> tuple[pd.DataFrame, str]:
    """The transactions of ``data``, or the built-in simulation (``tiny``: 300 customers); with
    ``with_feedback``, plus the labelled transactions the service has scored. Also a short description."""
    if data is not None:
        df, source = load_transactions(data), str(data)
    else:
        from apps.fraud.simulator import builtin_config, simulate

        df, source = simulate(builtin_config(tiny=tiny, seed=seed)), builtin_source(tiny, seed)
    if with_feedback:
        from apps.fraud.storage import feedback_frame

        extra = feedback_frame()
        if len(extra):
            extra = extra.assign(TRANSACTION_ID=extra["TRANSACTION_ID"] + int(df["TRANSACTION_ID"].max()) + 1)
            df = pd.concat([df, extra], ignore_index=True).sort_values(
                ["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)
            source += f" + {len(extra)} labelled served transactions"
    return df, source
