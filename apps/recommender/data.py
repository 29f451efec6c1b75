"""Interaction data: the built-in synthetic shop, file loaders and validation.

Every source ends up as an :class:`Interactions`: one row per (user, item) with
a positive weight and an optional timestamp, plus an item catalogue. Ids are
kept as strings so that a CSV with ``"0042"`` and one with ``42`` never mix up.
"""

from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from lepton_shared.errors import UserError

USER_ALIASES = ("user_id", "user", "userid", "customer_id", "visitor_id")
ITEM_ALIASES = ("item_id", "item", "itemid", "movieid", "movie_id", "product_id", "product")
WEIGHT_ALIASES = ("weight", "rating", "count", "quantity", "value")
TIME_ALIASES = ("timestamp", "ts", "time", "event_time", "datetime")
CATALOGUE_COLUMNS = ("item_id", "title", "category")

ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                 "War", "Western")


@dataclass
class Interactions:
    """Positive implicit feedback plus what we know about the items.

    ``frame`` has columns ``user_id`` (str), ``item_id`` (str), ``weight``
    (float > 0) and ``timestamp`` (float seconds, NaN when unknown);
    ``catalogue`` has ``item_id``, ``title``, ``category`` for every item
    that appears in ``frame`` (unknown details are filled in, never dropped).
    """

    frame: pd.DataFrame
    catalogue: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return int(self.frame["user_id"].nunique())

    @property
    def n_items(self) -> int:
        return int(self.frame["item_id"].nunique())

    def __len__(self) -> int:
        return len(self.frame)


# --------------------------------------------------------------------------- built-in data
CATEGORY_NAMES = ("books", "electronics", "garden", "kitchen", "toys", "sports", "beauty", "music", "games",
                  "fashion", "office", "pets", "outdoor", "health", "baby", "automotive")


def generate_shop(n_users: int = 4000, n_items: int = 1500, n_categories: int = 12,
                  mean_interactions: float = 25.0, seed: int = 42, companion_rate: float = 0.75) -> Interactions:
    """A synthetic shop with the structure real shops have.

    * each user has a latent taste vector and a strong preference for a few
      categories (Dirichlet with a small concentration);
    * item popularity follows a long tail (Zipf-like), so "most popular" is a
      meaningful but beatable baseline;
    * items come with 2-4 *companions* (accessories, sequels, refills) that are
      often bought right after them: local item-to-item structure that
      low-rank factorisations blur and item-item models capture;
    * activity per user is log-normal (a few heavy users, many light ones), and
      timestamps run over 180 days so "trending" can differ from "popular".

    ``companion_rate`` is the chance that a companion follows a pick (0 gives
    data with only low-rank taste + category + popularity structure).
    """
    if n_users < 2 or n_items < 10:
        raise UserError("the built-in shop needs at least 2 users and 10 items")
    n_categories = max(1, min(n_categories, len(CATEGORY_NAMES), n_items // 5))
    rng = np.random.default_rng(seed)
    dim = 16
    item_cat = rng.integers(0, n_categories, size=n_items)
    cat_centres = rng.normal(0, 1.0, size=(n_categories, dim))
    item_vec = cat_centres[item_cat] + rng.normal(0, 0.6, size=(n_items, dim))
    rank = rng.permutation(n_items) + 1
    log_pop = -1.0 * np.log(rank)  # Zipf exponent 1: a long tail
    companions = np.empty((n_items, 3), dtype=np.int64)
    for c in range(n_categories):  # companions live in the same category, chosen at random (not by taste)
        members = np.flatnonzero(item_cat == c)
        companions[members] = rng.choice(members, size=(len(members), 3))

    counts = np.clip(rng.lognormal(np.log(mean_interactions) - 0.5, 1.0, size=n_users).astype(int), 3,
                     max(3, n_items // 3))
    users, items, times = [], [], []
    chunk = max(1, 2_000_000 // n_items)
    for start in range(0, n_users, chunk):
        stop = min(n_users, start + chunk)
        m = stop - start
        taste = rng.normal(0, 1.0, size=(m, dim))
        cat_pref = rng.dirichlet(np.full(n_categories, 0.3), size=m)
        logits = 0.35 * taste @ item_vec.T / np.sqrt(dim) + 0.9 * log_pop[None, :] \
            + 2.0 * np.log(cat_pref[:, item_cat] + 1e-3)
        gumbel = logits + rng.gumbel(size=logits.shape)
        for row in range(m):
            n = int(counts[start + row])
            n_seed = max(1, round(n * 0.6))
            picked = np.argpartition(-gumbel[row], n_seed)[:n_seed]
            follow = companions[picked, rng.integers(0, 3, size=len(picked))]
            keep = rng.random(len(follow)) < companion_rate
            chosen = np.unique(np.concatenate([picked, follow[keep]]))
            t0 = rng.uniform(0, 180 * 86400)
            users.append(np.full(len(chosen), start + row))
            items.append(chosen)
            times.append(t0 + rng.uniform(0, 20 * 86400, size=len(chosen)))
    u = np.concatenate(users)
    i = np.concatenate(items)
    t = np.minimum(np.concatenate(times), 200 * 86400) + 1.7e9
    frame = pd.DataFrame({
        "user_id": np.char.add("u", u.astype(str)),
        "item_id": np.char.add("i", i.astype(str)),
        "weight": 1.0,
        "timestamp": t.round(0),
    })
    adjectives = ("Classic", "Compact", "Deluxe", "Eco", "Smart", "Mini", "Pro", "Vintage", "Daily", "Travel")
    cats = np.array(CATEGORY_NAMES[:n_categories])
    catalogue = pd.DataFrame({
        "item_id": [f"i{k}" for k in range(n_items)],
        "title": [f"{adjectives[k % len(adjectives)]} {cats[item_cat[k]]} item {k}" for k in range(n_items)],
        "category": cats[item_cat],
    })
    catalogue = catalogue[catalogue["item_id"].isin(set(frame["item_id"]))].reset_index(drop=True)
    return Interactions(frame=frame, catalogue=catalogue, source=f"built-in shop (seed {seed})")


def builtin_spec(tiny: bool = False, interactions: int | None = None, seed: int = 42) -> dict[str, Any]:
    """Generator arguments for the built-in data: the default, ``--tiny`` or a target size."""
    if interactions:
        if interactions < 100:
            raise UserError("--synthetic-interactions must be at least 100")
        n_items = int(min(8000, max(100, 6 * np.sqrt(interactions))))
        n_users = max(20, int(interactions / 25))
        return {"n_users": n_users, "n_items": n_items, "mean_interactions": 25.0, "seed": seed}
    if tiny:
        return {"n_users": 300, "n_items": 120, "n_categories": 6, "mean_interactions": 12.0, "seed": seed}
    return {"n_users": 4000, "n_items": 1500, "mean_interactions": 25.0, "seed": seed}


# --------------------------------------------------------------------------- loaders
def _pick(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    return next((lowered[a] for a in aliases if a in lowered), None)


def _read_csv(handle: IO[bytes] | Path, name: str, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(handle, **kwargs)
    except pd.errors.EmptyDataError:
        raise UserError(f"{name} is empty: it needs a header and at least one interaction row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"cannot read {name} as CSV: {str(exc).splitlines()[0]}") from None


def clean_interactions(raw: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Normalise columns and reject or repair bad rows, saying what happened.

    Missing ids and negative or non-numeric weights are errors (the file is
    wrong); duplicate (user, item) rows are merged by summing weights, and
    zero weights are dropped, each with a note.
    """
    if raw.empty:
        raise UserError(f"{name} has no interaction rows")
    cols = [str(c) for c in raw.columns]
    raw.columns = cols
    user_col, item_col = _pick(cols, USER_ALIASES), _pick(cols, ITEM_ALIASES)
    if user_col is None or item_col is None:
        raise UserError(f"{name} needs a user column ({'/'.join(USER_ALIASES[:2])}) and an item column "
                        f"({'/'.join(ITEM_ALIASES[:2])}); found columns: {', '.join(cols)}")
    weight_col, time_col = _pick(cols, WEIGHT_ALIASES), _pick(cols, TIME_ALIASES)
    frame = pd.DataFrame({"user_id": raw[user_col], "item_id": raw[item_col]})
    missing = frame["user_id"].isna() | frame["item_id"].isna()
    if missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0]) + 2
        raise UserError(f"{name}: {int(missing.sum())} rows have an empty user or item id (first at line {first})")
    frame["user_id"] = frame["user_id"].astype(str).str.strip()
    frame["item_id"] = frame["item_id"].astype(str).str.strip()
    if weight_col is None:
        frame["weight"] = 1.0
    else:
        weight = pd.to_numeric(raw[weight_col], errors="coerce")
        if weight.isna().any():
            bad = raw[weight_col][weight.isna()].iloc[0]
            raise UserError(f"{name}: column {weight_col!r} must be numeric (found {bad!r})")
        if (weight < 0).any():
            raise UserError(f"{name}: {int((weight < 0).sum())} rows have a negative {weight_col!r}; implicit "
                            f"feedback weights must be >= 0 (remove or fix those rows)")
        frame["weight"] = weight.astype(float)
    if time_col is None:
        frame["timestamp"] = np.nan
    else:
        ts = pd.to_numeric(raw[time_col], errors="coerce")
        if ts.isna().all() and raw[time_col].notna().any():
            ts = pd.to_datetime(raw[time_col], errors="coerce", utc=True).astype("int64") / 1e9
        frame["timestamp"] = ts.astype(float)
    notes = []
    zero = frame["weight"] == 0
    if zero.any():
        notes.append(f"dropped {int(zero.sum())} rows with weight 0")
        frame = frame[~zero]
    if frame.empty:
        raise UserError(f"{name} has no interaction with a positive weight")
    dup = frame.duplicated(["user_id", "item_id"])
    if dup.any():
        notes.append(f"merged {int(dup.sum())} duplicate (user, item) rows (weights summed, latest time kept)")
        frame = frame.groupby(["user_id", "item_id"], as_index=False, sort=False).agg(
            weight=("weight", "sum"), timestamp=("timestamp", "max"))
    return frame.reset_index(drop=True), notes


def complete_catalogue(catalogue: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame:
    """A row for every item in ``frame``; unknown titles become the id, unknown categories "unknown"."""
    items = pd.DataFrame({"item_id": pd.unique(frame["item_id"])})
    if catalogue is None or catalogue.empty:
        out = items.assign(title=items["item_id"], category="unknown")
    else:
        cat = catalogue.copy()
        cat["item_id"] = cat["item_id"].astype(str).str.strip()
        cat = cat.drop_duplicates("item_id")
        out = items.merge(cat, on="item_id", how="left")
        if "title" not in out:
            out["title"] = out["item_id"]
        if "category" not in out:
            out["category"] = "unknown"
        out["title"] = out["title"].fillna(out["item_id"]).astype(str)
        out["category"] = out["category"].fillna("unknown").astype(str)
    return out[list(CATALOGUE_COLUMNS)].reset_index(drop=True)


def read_catalogue_csv(handle: IO[bytes] | Path, name: str) -> pd.DataFrame:
    """A plain item catalogue: an item id column plus optional title/name and category/genre(s)."""
    raw = _read_csv(handle, name)
    cols = [str(c) for c in raw.columns]
    item_col = _pick(cols, ITEM_ALIASES)
    if item_col is None:
        raise UserError(f"{name} needs an item id column (item_id); found columns: {', '.join(cols)}")
    title_col = _pick(cols, ("title", "name", "product_name"))
    cat_col = _pick(cols, ("category", "genre", "genres", "department"))
    out = pd.DataFrame({"item_id": raw[item_col].astype(str)})
    out["title"] = raw[title_col].astype(str) if title_col else out["item_id"]
    if cat_col:
        out["category"] = raw[cat_col].astype(str).str.split("|").str[0]  # MovieLens: first genre
    else:
        out["category"] = "unknown"
    return out


def _read_ml100k(data: IO[bytes], items: IO[bytes] | None, name: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    raw = _read_csv(data, name, sep="\t", header=None, names=["user_id", "item_id", "rating", "timestamp"],
                    dtype=str)
    if raw["timestamp"].isna().all():
        raise UserError(f"{name} is not in MovieLens u.data format (user<TAB>item<TAB>rating<TAB>timestamp)")
    catalogue = None
    if items is not None:
        text = items.read().decode("latin-1")
        rows = [line.split("|") for line in text.splitlines() if line.strip()]
        records = []
        for r in rows:
            flags = r[5:5 + len(ML100K_GENRES)]
            genre = next((g for g, f in zip(ML100K_GENRES, flags, strict=False) if f.strip() == "1"), "unknown")
            records.append({"item_id": r[0].strip(), "title": r[1] if len(r) > 1 else r[0], "category": genre})
        catalogue = pd.DataFrame(records, columns=list(CATALOGUE_COLUMNS))
    return raw, catalogue


def _from_zip(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{path} is not a valid zip archive (was the download interrupted?)") from None
    with archive:
        names = archive.namelist()

        def member(suffix: str) -> str | None:
            return next((n for n in names if n.endswith("/" + suffix) or n == suffix), None)

        if (udata := member("u.data")) is not None:
            uitem = member("u.item")
            items = io.BytesIO(archive.read(uitem)) if uitem else None
            raw, catalogue = _read_ml100k(io.BytesIO(archive.read(udata)), items, f"{path}:{udata}")
            return raw, catalogue, f"MovieLens 100K ({path.name})"
        if (ratings := member("ratings.csv")) is not None:
            raw = _read_csv(io.BytesIO(archive.read(ratings)), f"{path}:{ratings}")
            movies = member("movies.csv")
            catalogue = read_catalogue_csv(io.BytesIO(archive.read(movies)), movies) if movies else None
            return raw, catalogue, f"MovieLens ratings.csv ({path.name})"
    raise UserError(f"{path} holds neither u.data nor ratings.csv; pass a MovieLens archive or a CSV file")


def load_interactions(path: Path, items_path: Path | None = None) -> Interactions:
    """Read interactions from a CSV, a MovieLens folder/file, or a MovieLens zip.

    * ``u.data`` (tab-separated user, item, rating, timestamp), with ``u.item``
      beside it for titles and genres (MovieLens 100K);
    * ``ratings.csv`` (userId, movieId, rating, timestamp) with ``movies.csv``
      beside it (MovieLens latest / 20M / 25M);
    * any other CSV with a user and an item column (weight/rating and
      timestamp optional), plus ``items.csv`` beside it or ``--items``;
    * a folder holding one of those, or the downloaded ``.zip`` itself.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"data not found: {path}")
    catalogue: pd.DataFrame | None = None
    if path.is_dir():
        for candidate in ("u.data", "ratings.csv", "interactions.csv"):
            if (path / candidate).exists():
                return load_interactions(path / candidate, items_path)
        zips = sorted(path.glob("*.zip"))
        if zips:
            return load_interactions(zips[0], items_path)
        raise UserError(f"{path} holds no u.data, ratings.csv, interactions.csv or .zip archive")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty: it needs at least one interaction row")
    if path.suffix == ".zip":
        raw, catalogue, source = _from_zip(path)
    elif path.name == "u.data":
        uitem = path.with_name("u.item")
        with open(path, "rb") as fh:
            items_fh = open(uitem, "rb") if uitem.exists() else None  # noqa: SIM115
            try:
                raw, catalogue = _read_ml100k(fh, items_fh, str(path))
            finally:
                if items_fh is not None:
                    items_fh.close()
        source = f"MovieLens 100K ({path})"
    else:
        raw = _read_csv(path, str(path))
        source = str(path)
        sibling = {"ratings.csv": "movies.csv"}.get(path.name, "items.csv")
        if items_path is None and path.with_name(sibling).exists() and path.with_name(sibling) != path:
            items_path = path.with_name(sibling)
    if items_path is not None:
        if not Path(items_path).exists():
            raise UserError(f"item catalogue not found: {items_path}")
        catalogue = read_catalogue_csv(Path(items_path), str(items_path))
    frame, notes = clean_interactions(raw, source)
    for note in notes:
        print(f"{source}: {note}", file=sys.stderr)
    return Interactions(frame=frame, catalogue=complete_catalogue(catalogue, frame), source=source, notes=notes)


def load_or_generate(path: Path | None, spec: dict[str, Any], items_path: Path | None = None) -> Interactions:
    """The file at ``path``, or the built-in shop generated from ``spec``."""
    if path is None:
        data = generate_shop(**spec)
        data.catalogue = complete_catalogue(data.catalogue, data.frame)
        return data
    return load_interactions(path, items_path)
