"""What every request body shares: refuse what a model or a database cannot hold, before any route runs.

JSON as Python parses it lets ``NaN``, ``Infinity`` and ``1e400`` (an overflow to infinity) through; they would
poison a score, or be stored as non-standard JSON, or fail when the answer is encoded. Integers are unbounded in
JSON but not in a database column. Both are refused here with a 422 that names the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: the largest value a 64-bit signed integer column (SQLite INTEGER, PostgreSQL BIGINT) holds
MAX_DB_ID = 2**63 - 1

#: a non-negative id that fits the database's integer columns (body fields and path parameters alike)
DbId = Annotated[int, Field(ge=0, le=MAX_DB_ID)]


class RequestModel(BaseModel):
    """Base of the apps' request bodies: unknown fields and non-finite numbers (at any depth) are a 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
