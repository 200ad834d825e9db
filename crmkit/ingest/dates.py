"""Dates as exports write them, read per distinct value; day/month order decided from the whole file.

Rules: a time of day is kept; a UTC offset or zone (``+0800``, ``+08:00``, ``Z``, ``UTC``) is ignored, so
every date keeps the wall-clock day written in the file whatever other rows hold; dates before 1900 or after
2199 are out of range (an export's placeholder, not a purchase) and their rows are dropped as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, OptionError
from crmkit.schema import DATE_ORDERS

# --- dates ------------------------------------------------------------------------
#: A UTC offset or zone after the time: matched so the date is read, then ignored (wall clock kept).
_OFFSET = r"(?:\s*(?:Z|UTC|GMT)?\s*(?:[+-]\d{2}(?::?\d{2})?)?)"


_TIME = rf"(?:[T ]+(\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?){_OFFSET})?"


DATE_STYLES: dict[str, re.Pattern[str]] = {
    "iso": re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}Z?$"),
    "y/m/d": re.compile(rf"^(\d{{4}})[/.](\d{{1,2}})[/.](\d{{1,2}}){_TIME}$"),
    "年月日": re.compile(
        r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"
        r"(?:\s*(\d{1,2}[:：]\d{2}(?:[:：]\d{2})?))?$"
    ),
    "day/month": re.compile(rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}}){_TIME}$"),
    "yyyymmdd": re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    "excel serial": re.compile(r"^(\d{1,7})(?:\.\d+)?$"),
}


EXCEL_EPOCH = pd.Timestamp("1899-12-30")


#: Excel serial numbers accepted as dates: 1950-01-01 .. 2199-12-31 (a wider range is more likely an id).
SERIAL_RANGE = (18264, 109939)


#: Years a date may fall in; outside them a row is dropped as out of range (pandas itself stops at 1677/2262).
YEAR_RANGE = (1900, 2199)


#: Rows contradicting the day/month order the rest of the column settles, as a share of the rows settling it,
#: that are dropped as typing errors rather than refusing the file.
STRAY_ORDER_SHARE = 0.05


@dataclass
class ParsedDates:
    """Parsed dates (NaT where missing or unparseable) with what was seen, for the ingest report."""

    values: pd.Series
    bad: np.ndarray
    styles: dict[str, int] = field(default_factory=dict)
    date_order: str | None = None
    order_evidence: str | None = None
    #: Rows whose date is outside :data:`YEAR_RANGE` (not counted in ``bad``).
    out_of_range: np.ndarray | None = None
    #: Distinct dates that contradict the settled day/month order (rows counted in ``bad``), as written.
    stray: list[str] = field(default_factory=list)


def parse_dates(values: pd.Series, *, date_order: str | None = None, where: str = "") -> ParsedDates:
    """Dates from real dates, Excel serials, ISO, 2024/1/5, 2024年1月5日, 20240105 and dd/mm/yyyy or mm/dd/yyyy.

    Day/month order for a/b/yyyy dates is decided once per column: from the values
    that only fit one order (13/01/2024 is day first), else from ``date_order``,
    else a :class:`BadValueError` asks for ``--date-order`` — never a silent guess;
    it is asked only when some date reads differently in the two orders. A few
    dates contradicting a clear majority are dropped as bad, not obeyed.
    Time of day is kept; UTC offsets are ignored (local wall-clock time).
    """
    if date_order is not None and date_order not in DATE_ORDERS:
        raise OptionError(
            f"date order {date_order!r} is not dmy or mdy", hint="use date_order='dmy' or date_order='mdy'"
        )
    n = len(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values.to_numpy()
        low, high = (np.datetime64(f"{year}-01-01") for year in (YEAR_RANGE[0], YEAR_RANGE[1] + 1))
        far = (stamps < low) | (stamps >= high)  # NaT compares False
        if far.any():
            stamps = np.where(far, np.datetime64("NaT"), stamps)
        parsed = pd.Series(stamps.astype("datetime64[ns]", copy=False))
        return ParsedDates(
            parsed, np.zeros(n, dtype=bool), {"date": int(parsed.notna().sum())} if n else {}, out_of_range=far
        )
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(distinct, dtype=object)
    rows = np.bincount(codes[codes >= 0], minlength=len(uniques))  # how many rows hold each distinct value
    result, style, far_values = _parse_unique_dates(pd.Series(uniques, dtype=object), date_order, where, rows)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    present = codes >= 0
    out[present] = result.values[codes[present]]
    # Blank text is missing, not unparseable; the trailing False is what code -1 (missing) picks.
    blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [False], dtype=bool)
    far_rows = np.append(far_values.to_numpy(dtype=bool), False)[codes]
    bad = present & np.isnat(out) & ~blank[codes] & ~far_rows
    style_of_row = style.to_numpy(dtype=object)[codes[~np.isnat(out)]]
    counts = pd.Series(style_of_row).value_counts()
    styles = {str(k): int(v) for k, v in counts.items()}
    return ParsedDates(
        pd.Series(out),
        bad,
        styles,
        result.attrs.get("order"),
        result.attrs.get("evidence"),
        far_rows,
        result.attrs.get("stray", []),
    )


def _parse_unique_dates(
    uniques: pd.Series, date_order: str | None, where: str, rows: np.ndarray
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse distinct raw values; returns (datetime64 values, style name per value, out of range per value)."""
    out = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    style = pd.Series("", index=uniques.index, dtype=object)
    far = pd.Series(False, index=uniques.index)
    is_datetime = uniques.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year"))
    if is_datetime.any():
        stamps = uniques[is_datetime]
        years = stamps.map(lambda v: pd.Timestamp(v).year if not isinstance(v, pd.Timestamp) else v.year)
        outside = ~years.between(*YEAR_RANGE)
        far[outside[outside].index] = True
        inside = stamps[~outside]
        out[inside.index] = pd.to_datetime(inside.map(_naive), errors="coerce")
        style[inside.index] = "date"
    is_number = uniques.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
    if is_number.any():
        numbers = uniques[is_number].astype("float64")
        _set_numeric_dates(out, style, numbers)
    text = uniques[~is_datetime & ~is_number].astype("str").str.strip()
    if len(text):
        _set_text_dates(out, style, far, text, date_order, where, out.attrs, rows)
    return out, style, far


def _naive(value: Any) -> object:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _set_numeric_dates(out: pd.Series, style: pd.Series, numbers: pd.Series) -> None:
    serial = numbers.between(*SERIAL_RANGE)
    out[serial[serial].index] = EXCEL_EPOCH + pd.to_timedelta(numbers[serial], unit="D")
    style[serial[serial].index] = "excel serial"
    compact = ~serial & numbers.between(19000101, 21991231) & (numbers == np.floor(numbers))
    if compact.any():
        stamps = pd.to_datetime(numbers[compact].astype("int64").astype("str"), format="%Y%m%d", errors="coerce")
        out[compact[compact].index] = stamps
        style[compact[compact].index] = "yyyymmdd"


def _set_text_dates(
    out: pd.Series,
    style: pd.Series,
    far: pd.Series,
    text: pd.Series,
    date_order: str | None,
    where: str,
    attrs: dict,
    rows: np.ndarray,
) -> None:
    remaining = pd.Series(True, index=text.index)
    for name, pattern in DATE_STYLES.items():
        parts = text[remaining].str.extract(pattern)
        hit = parts[0].notna()
        if not hit.any():
            continue
        parts = parts[hit]
        remaining[parts.index] = False
        if name == "excel serial":
            _set_numeric_dates(out, style, pd.to_numeric(text[parts.index], errors="coerce"))
            continue
        if name == "day/month":
            order, evidence, stray = _day_month_order(parts, date_order, where, rows)
            attrs["order"], attrs["evidence"] = order, evidence
            attrs["stray"] = text[stray].tolist()
            parts = parts.drop(index=stray)
            day, month = (parts[0], parts[1]) if order != "mdy" else (parts[1], parts[0])
            year, clock = parts[2], parts[3]
        elif name == "yyyymmdd":
            no_clock = pd.Series(None, index=parts.index, dtype="str")
            year, month, day, clock = parts[0], parts[1], parts[2], no_clock
        else:
            year, month, day, clock = parts[0], parts[1], parts[2], parts[3]
        outside = ~year.astype(int).between(*YEAR_RANGE)
        far[outside[outside].index] = True
        inside = ~outside
        iso = (
            year[inside]
            + "-"
            + month[inside].str.zfill(2)
            + "-"
            + day[inside].str.zfill(2)
            + (" " + clock[inside].fillna("").str.replace("：", ":")).where(clock[inside].notna(), "")
        )
        out[iso.index] = pd.to_datetime(iso, format="ISO8601", errors="coerce")
        style[iso.index] = name
    if remaining.any():
        # Month names and other spelled-out dates ('5 Jan 2024', 'January 5, 2024'): only when a letter is present.
        worded = text[remaining & text.str.contains(r"[A-Za-z]{3}", regex=True)]
        if len(worded):
            stamps = pd.to_datetime(worded, format="mixed", errors="coerce", dayfirst=date_order == "dmy")
            known = stamps.notna()
            outside = known & ((stamps.dt.year < YEAR_RANGE[0]) | (stamps.dt.year > YEAR_RANGE[1]))
            far[outside[outside].index] = True
            out[worded.index] = stamps.where(~outside)
            style[worded.index] = "text"


def _day_month_order(
    parts: pd.DataFrame, date_order: str | None, where: str, rows: np.ndarray
) -> tuple[str | None, str | None, pd.Index]:
    """(dmy or mdy for a/b/yyyy dates, the evidence, values contradicting it): from the data when it tells,
    else ``date_order``, else an error; no order at all when no date reads differently in the two orders.
    ``rows``: how many rows hold each distinct value (the majority is counted in rows)."""
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first = parts.index[(first > 12) & (second <= 12)]
    month_first = parts.index[(second > 12) & (first <= 12)]
    stray = parts.index[:0]
    if len(day_first) and len(month_first):
        few, many = sorted((day_first, month_first), key=lambda index: rows[index].sum())
        if rows[few].sum() > STRAY_ORDER_SHARE * rows[many].sum():
            raise BadValueError(
                f"{where}dates mix day/month orders: {_sample(parts, day_first)} only fits day first but "
                f"{_sample(parts, month_first)} only fits month first",
                hint="fix the export so one order is used, or split the file",
            )
        stray = few
        day_first, month_first = (many, few[:0]) if many is day_first else (few[:0], many)
    detected = "dmy" if len(day_first) else "mdy" if len(month_first) else None
    if detected and date_order and detected != date_order:
        raise BadValueError(
            f"{where}date_order='{date_order}' contradicts the data: "
            f"{_sample(parts, day_first if detected == 'dmy' else month_first)} only fits {detected}",
            hint=f"use date_order='{detected}' or leave it out",
        )
    if detected:
        example = _sample(parts, day_first if detected == "dmy" else month_first)
        return detected, f"{example} only fits {'day/month' if detected == 'dmy' else 'month/day'}", stray
    ambiguous = parts.index[(first <= 12) & (second <= 12) & (first != second) & (first > 0) & (second > 0)]
    if date_order or not len(ambiguous):
        return date_order, None, stray
    raise BadValueError(
        f"{where}dates like {_sample(parts, ambiguous)} could be day/month or month/day, "
        "and no date in the file settles it",
        hint="say which with date_order='dmy' (5 March) or date_order='mdy' (May 3)",
    )


def _sample(parts: pd.DataFrame, index: pd.Index) -> str:
    row = parts.loc[index[0]]
    return f"{row[0]}/{row[1]}/{row[2]}"


def parse_date(text: str, *, option: str = "--as-of") -> pd.Timestamp:
    """One date typed on the command line (any style :func:`parse_dates` reads, day/month must be unambiguous)."""
    try:
        parsed = parse_dates(pd.Series([text], dtype=object), where=f"{option} ")
    except BadValueError as error:
        raise OptionError(str(error.message), hint="write the date as YYYY-MM-DD") from None
    if parsed.out_of_range is not None and parsed.out_of_range.any():
        raise OptionError(
            f"{option} {text} is out of range", hint=f"give a date from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}"
        )
    if parsed.bad.any() or pd.isna(parsed.values.iloc[0]):
        raise OptionError(f"{option} {text!r} is not a date", hint="write the date as YYYY-MM-DD, e.g. 2024-06-30")
    return pd.Timestamp(parsed.values.iloc[0])
