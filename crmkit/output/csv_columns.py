"""CSV text built column by column with Arrow: the bytes pandas' ``to_csv`` wrote, at columnar speed.

The CSV promise stays what it was (see :mod:`crmkit.output.tables`): UTF-8 with a
byte-order mark, CRLF line ends, fields quoted only when they hold a comma, a
quote, CR or LF (the csv module's minimal quoting), missing values empty, floats
as ``%.12g``, integers and ids as written, dates as ``2024-03-01`` (with the time
when a column has one), booleans as ``True``/``False``. Text that a spreadsheet
could read as a formula, header included, gets a leading ``'``.

pandas formats every cell with a Python call (a table of 3.35M customers: five to seven
minutes). Here each column becomes text with numpy arithmetic and Arrow string
kernels, a block of rows at a time, and the rows are joined and written as one
buffer per block. Columns of a type this module does not format itself (Python
objects, time spans, time-zoned dates, …) are formatted by pandas as before, so
the bytes never depend on which path a column took.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmkit.output.xlsx_rows import utf8_view

#: Twelve significant digits: 285.3, not 285.29999999999995 (binary float noise), when a CSV is opened in
#: a spreadsheet; money to the cent stays exact up to 10 billion. Parquet and JSON keep full precision.
CSV_FLOAT_FORMAT: Final = "%.12g"
#: What a spreadsheet may read as the start of a formula (OWASP CSV injection).
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
#: Rows formatted and written together: large enough that Arrow's per-call cost vanishes, small enough that
#: the blocks in flight stay a small part of the peak memory (3.35M customers × 30 columns: 50k rows add
#: about 180 MiB at the same speed; 100k rows, 290 MiB).
BLOCK_ROWS: Final = 50_000
#: Threads formatting blocks: one per core of a two-core machine.
WRITE_THREADS: Final = 2
#: The byte-order mark makes Excel read the file as UTF-8 (Chinese names, ¥).
BOM: Final = "\ufeff".encode()
#: CRLF (RFC 4180), which also makes any text holding a CR or LF be quoted instead of splitting its row.
LINE_END: Final = "\r\n"

_TEXT: Final = pa.large_string()
_RISKY: Final = "^[" + "".join(f"\\x{ord(prefix):02x}" for prefix in FORMULA_PREFIXES) + "]"
_NEEDS_QUOTES: Final = '[,"\r\n]'
#: x × _TIMES[k + 22] / _OVER[k + 22] is x × 10**k rounded once, for k = −22 … 22: one of the two is 1,
#: the other a power of ten, exact in float64 up to 10**22.
_TIMES: Final = np.concatenate([np.ones(22), 10.0 ** np.arange(23)])
_OVER: Final = np.concatenate([10.0 ** np.arange(22, 0, -1), np.ones(23)])
_INT_POWERS: Final = 10 ** np.arange(19, dtype=np.int64)
_SIGNIFICANT: Final = 12
#: |scaled − n − ½| below this may be a rounding tie the float product cannot settle: %.12g decides.
_TIE_MARGIN: Final = 1e-4
#: Decimal exponent from which Arrow's float cast writes ``1e+10`` rather than ``10000000000``.
_ARROW_FIXED_BELOW: Final = 10


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV to ``path`` (a temporary file of the atomic write)."""
    columns = [_column(df.iloc[:, i]) for i in range(df.shape[1])]
    with open(path, "wb") as stream:
        stream.write(BOM)
        stream.write(_header(df.columns))
        if columns:
            _write_blocks(stream, columns, len(df))
        else:  # rows without fields, as the csv module writes them
            stream.write(LINE_END.encode() * len(df))


# --- one column ---------------------------------------------------------------------------------------
#: The CSV fields of rows ``lo:hi`` of one column (null for an empty field).
Fields = Callable[[int, int], pa.Array]
DType = np.dtype | pd.api.extensions.ExtensionDtype


def _column(values: pd.Series) -> Fields:
    """How this column's values become fields, chosen once for the whole column by its type."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and _is_text(values.cat.categories):
        categories = _fields(_neutralise(_arrow(values.cat.categories, _TEXT)))
        codes = pa.array(values.cat.codes.to_numpy(), mask=values.cat.codes.to_numpy() < 0)
        return lambda lo, hi: categories.take(codes[lo:hi])
    if _is_text(values):
        texts = _arrow(values, _TEXT)
        return lambda lo, hi: _fields(_neutralise(texts[lo:hi]))
    if _is_float(dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return lambda lo, hi: format_g12(numbers[lo:hi])
    if pd.api.types.is_integer_dtype(dtype):
        integers = _arrow(values)
        return lambda lo, hi: integers[lo:hi].cast(_TEXT)
    if pd.api.types.is_bool_dtype(dtype):
        flags = _arrow(values, pa.bool_())
        return lambda lo, hi: pc.if_else(flags[lo:hi], "True", "False").cast(_TEXT)
    if _is_plain_datetime(dtype):
        dates = _DateTimes.of(values)
        if dates is not None:
            return dates.block
    texts = _pandas_fields(values)
    return lambda lo, hi: texts[lo:hi]


def _arrow(values: pd.Series | pd.Index, type: pa.DataType | None = None) -> pa.Array:
    """The values as one contiguous Arrow array (pandas' Arrow-backed columns may hold several chunks)."""
    array = pa.array(values, type=type, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _is_text(values: pd.Series | pd.Index) -> bool:
    """Text only (pandas' str/string dtypes, Arrow text, or objects that are all strings): written as is."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    return pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _is_float(dtype: DType) -> bool:
    return pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype)


def _is_plain_datetime(dtype: DType) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "M"


def _neutralise(texts: pa.Array) -> pa.Array:
    """Text starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) with a leading ``'``."""
    risky = pc.match_substring_regex(texts, _RISKY)
    if not pc.any(risky).as_py():
        return texts
    return pc.if_else(risky, pc.binary_join_element_wise(_lit("'"), texts, _lit("")), texts)


def _fields(texts: pa.Array) -> pa.Array:
    """Text quoted where the csv module quotes it (a comma, a quote, CR or LF), inner quotes doubled."""
    quoted = pc.match_substring_regex(texts, _NEEDS_QUOTES)
    if not pc.any(quoted).as_py():
        return texts
    escaped = pc.binary_join_element_wise(_lit('"'), pc.replace_substring(texts, '"', '""'), _lit('"'), _lit(""))
    return pc.if_else(quoted, escaped, texts)


def _pandas_fields(values: pd.Series) -> pa.Array:
    """Fields of a column of any other type (Python objects, time spans, time zones, …) exactly as pandas
    writes them, read back from its own CSV; the cells that are strings neutralised."""
    text = pd.DataFrame({"v": values}).to_csv(
        index=False, header=False, quoting=csv.QUOTE_ALL, float_format=CSV_FLOAT_FORMAT, lineterminator="\n"
    )
    fields = pa.array([row[0] for row in csv.reader(io.StringIO(text, newline=""))], type=_TEXT)
    if pd.api.types.is_object_dtype(values.dtype) or isinstance(values.dtype, pd.CategoricalDtype):
        cells = np.asarray(values, dtype=object)
        is_string = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
        if is_string.any():
            fields = pc.if_else(pa.array(is_string), _neutralise(fields), fields)
    return _fields(fields)


# --- floats -------------------------------------------------------------------------------------------
def format_g12(numbers: np.ndarray) -> pa.Array:
    """``"%.12g" % x`` for every float (null for NaN), exact, with numpy arithmetic and Arrow casts.

    Each finite non-zero x is scaled by an exact power of ten to 12 digits before the point and rounded:
    one correctly rounded product, so the digits are those of the exact value unless x sits within the
    product's rounding error of a tie; those few, and magnitudes beyond 1e±22 scaling, go to Python's
    own ``%``. The 12 digits, scaled back (one more correctly rounded division), make the float whose
    shortest round-trip text, Arrow's cast, has exactly those digits less trailing zeros: %g's text for
    the usual magnitudes. Where %g or Arrow would write an exponent the text is laid out from the digits.
    """
    magnitude = np.abs(numbers)
    whole = _whole_numbers(numbers, magnitude)
    if whole is not None:
        return whole
    nonzero = (magnitude > 0) & (magnitude < np.inf)  # NaN compares false
    exponent = np.zeros(len(numbers), dtype=np.int64)
    np.floor(np.log10(magnitude, where=nonzero, out=np.ones(len(numbers))), out=exponent, casting="unsafe")
    times, over, scaled = _scale(magnitude, exponent)
    low, high = scaled < 1e11, scaled >= 1e12  # log10 rounded across a power of ten (false for NaN)
    if low.any() or high.any():
        exponent += high.astype(np.int64) - (low & nonzero)
        times, over, scaled = _scale(magnitude, exponent)
    digits = np.floor(scaled)
    with np.errstate(invalid="ignore"):  # ±inf
        fraction = scaled - digits
    # Near a tie, or beyond the exact powers of ten (NaN): Python's %.12g settles it.
    slow = nonzero & ~(np.abs(fraction - 0.5) >= _TIE_MARGIN)
    digits += fraction > 0.5
    fast = nonzero & ~slow
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = np.where(fast, np.copysign(digits * over / times, numbers), numbers)
    text = pa.array(rounded, from_pandas=True).cast(_TEXT)  # zeros, ±inf as %g writes them; NaN null
    carry = digits == 10.0**_SIGNIFICANT  # 999999999999.6 → 1.00000000000e+12
    if carry.any():
        digits[carry] = 10.0 ** (_SIGNIFICANT - 1)
        exponent += carry
    # Arrow's exponents start at 1e10 and below 1e-7; %g's at 1e12 and below 1e-4.
    laid_out = fast & ((exponent < -4) | (exponent >= _ARROW_FIXED_BELOW)) if _arrow_writes_fixed() else fast
    if not (laid_out.any() or slow.any()):
        return text
    fixes = [_layout(digits[laid_out].astype(np.int64), exponent[laid_out], numbers[laid_out] < 0)]
    fixes.append(pa.array([CSV_FLOAT_FORMAT % v for v in numbers[slow].tolist()], type=_TEXT))
    where = np.concatenate([np.flatnonzero(laid_out), np.flatnonzero(slow)])
    in_order = pa.concat_arrays(fixes).take(pa.array(np.argsort(where, kind="stable")))
    return pc.replace_with_mask(text, pa.array(laid_out | slow), in_order)


@functools.cache
def _arrow_writes_fixed() -> bool:
    """Arrow's float-to-text cast writes the shortest round-trip digits in fixed notation from 1e-4 to
    below 1e10, as %g does (checked once: a pyarrow that changes its format gets the digit layout)."""
    samples = [285.3, 0.1, 3.0, -2.5, 0.0001, 0.000123456789012, 9876543210.12, 0.30000000000000004, -0.0]
    expected = [
        "285.3",
        "0.1",
        "3",
        "-2.5",
        "0.0001",
        "0.000123456789012",
        "9876543210.12",
        "0.30000000000000004",
        "-0",
    ]
    return pa.array(samples).cast(_TEXT).to_pylist() == expected


def _scale(magnitude: np.ndarray, exponent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``magnitude × 10**(11 − exponent)`` in one rounding, and the factor and divisor that make it (one of
    them 1, the other an exact power of ten; ``× over / times`` scales back). NaN beyond 10**±22."""
    shift = _SIGNIFICANT - 1 - exponent
    index = np.clip(shift + 22, 0, 44)
    times, over = _TIMES[index], _OVER[index]
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = magnitude * times / over
    scaled[np.abs(shift) > 22] = np.nan
    return times, over, scaled


def _whole_numbers(numbers: np.ndarray, magnitude: np.ndarray) -> pa.Array | None:
    """The integer text of a column of whole numbers below 10**12 (days, counts kept as floats), NaN as
    null: what %g writes for them, at a fraction of the cost. None for any other column."""
    head = numbers[:1024]
    if ((head != np.floor(head)) & ~np.isnan(head)).any():  # a fraction already: most columns stop here
        return None
    missing = np.isnan(numbers)
    if not ((magnitude < 1e12) | missing).all() or not ((numbers == np.floor(numbers)) | missing).all():
        return None
    if np.signbit(numbers[numbers == 0]).any():  # %g writes -0
        return None
    return pa.array(np.where(missing, 0, numbers).astype(np.int64), mask=missing).cast(_TEXT)


def _layout(digits: np.ndarray, exponent: np.ndarray, negative: np.ndarray) -> pa.Array:
    """%g text of ``±digits × 10**(exponent − 11)`` (``digits`` has 12 digits, or is 0)."""
    fixed = (exponent >= -4) & (exponent < _SIGNIFICANT)
    places = np.where(fixed, _SIGNIFICANT - 1 - exponent, _SIGNIFICANT - 1)  # digits after the point
    whole = digits // _INT_POWERS[places]
    fraction = digits - whole * _INT_POWERS[places]
    for step in (8, 4, 2, 1):  # drop trailing zeros of the fraction, a binary search on their count
        drop = (places >= step) & (fraction % _INT_POWERS[step] == 0)
        fraction = np.where(drop, fraction // _INT_POWERS[step], fraction)
        places = places - step * drop
    # ".ddd" as the text of 10**places + fraction with its leading "1" replaced by the point.
    point = pc.utf8_replace_slice(_decimal(fraction + _INT_POWERS[places]), 0, 1, ".")
    point = pc.if_else(pa.array(places > 0), point, _lit(None))
    sign = pc.if_else(pa.array(negative), _lit("-"), _lit(None))
    pieces = [sign, _decimal(whole), point]
    if not fixed.all():
        power = np.abs(exponent) + 100  # two digits at least: e+05
        mark = pc.if_else(pa.array(exponent < 0), _lit("e-"), _lit("e+"))
        suffix = pc.utf8_replace_slice(_decimal(power), 0, 1, "")
        pieces.append(pc.if_else(pa.array(fixed), _lit(None), _join_texts(mark, suffix)))
    return _join_texts(*pieces)


def _decimal(integers: np.ndarray) -> pa.Array:
    return pa.array(integers).cast(_TEXT)


def _lit(text: str | None) -> pa.Scalar:
    """A text scalar of the type every field has (Arrow's kernels do not mix string types)."""
    return pa.scalar(text, _TEXT)


def _join_texts(*pieces: pa.Array) -> pa.Array:
    """Pieces end to end, a null piece counting as empty."""
    return pc.binary_join_element_wise(*pieces, _lit(""), null_handling="replace", null_replacement="")


# --- dates --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _DateTimes:
    """A datetime64 column as pandas writes it: ``2024-03-01`` when every value is a whole day, else
    ``2024-03-01 13:45:00`` plus as many fractional digits (3, 6 or 9) as the finest value needs."""

    ticks: np.ndarray  # int64 ticks since 1970, NaT as the minimum int64
    per_second: int
    with_time: bool
    fraction_digits: int
    first_day: int = 0  # days since 1970 of the earliest value
    day_texts: pa.Array | None = None  # "YYYY-MM-DD" of every day from the first to the last

    @classmethod
    def of(cls, values: pd.Series) -> _DateTimes | None:
        """None when a year has other than four digits (pandas writes those unpadded)."""
        unit, _ = np.datetime_data(cast(np.dtype, values.dtype))
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit)
        if per_second is None:
            return None
        ticks = values.to_numpy().view(np.int64)
        present = ticks[ticks != np.iinfo(np.int64).min]
        if len(present) == 0:
            return cls(ticks, per_second, False, 0)
        days = present // (86_400 * per_second)
        lowest, highest = np.datetime64(int(days.min()), "D"), np.datetime64(int(days.max()), "D")
        if lowest < np.datetime64("1000-01-01") or highest > np.datetime64("9999-12-31"):
            return None
        fraction_digits = _fraction_digits(present % per_second, per_second)
        with_time = bool((present % (86_400 * per_second)).any())
        first, last = int(days.min()), int(days.max())
        # Dates repeat (a few years of days among millions of customers): each day's text is made once.
        span = np.arange(first, last + 1, dtype=np.int32) if last - first < len(ticks) else None
        day_texts = None if span is None else pa.array(span, type=pa.date32()).cast(_TEXT)
        return cls(ticks, per_second, with_time, fraction_digits, first, day_texts)

    def block(self, lo: int, hi: int) -> pa.Array:
        ticks = self.ticks[lo:hi]
        missing = ticks == np.iinfo(np.int64).min
        per_day = 86_400 * self.per_second
        days = np.where(missing, self.first_day * per_day, ticks) // per_day
        if self.day_texts is not None:
            text = self.day_texts.take(pa.array(days - self.first_day, mask=missing))
        else:
            text = pa.array(days.astype(np.int32), type=pa.date32(), mask=missing).cast(_TEXT)
        if not self.with_time:
            return text
        since_midnight = np.where(missing, 0, ticks) - days * per_day
        seconds = since_midnight // self.per_second
        clock = 1_000_000 + seconds // 3600 * 10_000 + seconds // 60 % 60 * 100 + seconds % 60  # 1HHMMSS
        clock_text = _decimal(clock)
        colon = _lit(":")
        pieces = [text, _lit(" "), pc.utf8_slice_codeunits(clock_text, 1, 3), colon]
        pieces += [pc.utf8_slice_codeunits(clock_text, 3, 5), colon, pc.utf8_slice_codeunits(clock_text, 5, 7)]
        if self.fraction_digits:
            fraction = since_midnight % self.per_second // (self.per_second // 10**self.fraction_digits)
            pieces.append(pc.utf8_replace_slice(_decimal(fraction + 10**self.fraction_digits), 0, 1, "."))
        return pc.binary_join_element_wise(*pieces, _lit(""))


def _fraction_digits(within_second: np.ndarray, per_second: int) -> int:
    """Digits pandas shows after the seconds: 9 for any nanosecond, 6 for any microsecond, 3 for any
    millisecond, else none."""
    for digits in (9, 6, 3):
        if per_second >= 10**digits and (within_second % (per_second // 10 ** (digits - 3))).any():
            return digits
    return 0


# --- rows ---------------------------------------------------------------------------------------------
def _header(names: pd.Index) -> bytes:
    """The header line: names as text, neutralised and quoted like any text field."""
    fields = _fields(_neutralise(pa.array([str(name) for name in names], type=_TEXT))).to_pylist()
    return (",".join(fields) if fields != [""] else '""').encode() + LINE_END.encode()


def _rows(fields: list[pa.Array], single_column: bool) -> pa.Array:
    """Lines of comma-separated fields, each ending in CRLF; missing fields empty.

    A line of one empty field is written ``""`` as the csv module does, so that it is not a blank line.
    """
    if single_column:
        fields = [pc.if_else(pc.equal(pc.fill_null(fields[0], ""), ""), _lit('""'), fields[0])]
    last = _join_texts(fields[-1], _lit(LINE_END))  # the line end rides on the last field: one pass less
    return pc.binary_join_element_wise(*fields[:-1], last, _lit(","), null_handling="replace", null_replacement="")


def _write_blocks(stream: BinaryIO, columns: list[Fields], n_rows: int) -> None:
    """Format blocks of rows on every core (numpy and Arrow release the GIL) and write them in order;
    at most one block per core waits to be written, so memory stays a few blocks' text."""
    single = len(columns) == 1

    def block(lo: int) -> pa.Array:
        hi = min(lo + BLOCK_ROWS, n_rows)
        return _rows([fields(lo, hi) for fields in columns], single)

    workers = min(WRITE_THREADS, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csv-block") as pool:
        pending: deque[Future[pa.Array]] = deque()
        for lo in range(0, n_rows, BLOCK_ROWS):
            pending.append(pool.submit(block, lo))
            if len(pending) > workers:
                stream.write(utf8_view(pending.popleft().result()))
        while pending:
            stream.write(utf8_view(pending.popleft().result()))
