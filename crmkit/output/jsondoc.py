"""Canonical JSON: numpy scalars as numbers, dates as ISO text, NaN, inf and missing values as null."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd


def json_text(obj: Any) -> str:
    """Canonical JSON text of ``obj`` (see :func:`jsonable`), non-ASCII kept, indented."""
    return json.dumps(jsonable(obj), ensure_ascii=False, indent=2)


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars as Python numbers, dates as ISO text and NaN/inf/missing as None."""
    if isinstance(obj, dict):
        return {str(key): jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(value) for value in obj]
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (pd.Timestamp, dt.datetime)):
        return obj.date().isoformat() if obj == pd.Timestamp(obj).normalize() else obj.isoformat()
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)
