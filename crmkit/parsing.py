"""Turn raw export values into canonical ones: headers, customer ids, dates and amounts.

Pure functions on pandas Series; :mod:`crmkit.ingest` reads the files and calls
these. Every parser works on the column's distinct values and maps back, so a
10-million-row column with a few hundred distinct dates parses in milliseconds.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmkit.errors import BadValueError, OptionError
from crmkit.schema import (
    AMOUNT, CHANNEL, COST, COST_COMPONENTS, CUSTOMER_ID, EMAIL, MARGIN, NAME, ORDER_DATE, ORDER_ID, PHONE, PRODUCT,
    QUANTITY, REGION, SALESPERSON, SIGNUP_DATE, VALUE_COMPONENTS,
)

# --- headers ----------------------------------------------------------------------
#: Headers recognised for each canonical transaction column, most specific first.
#: A customer *name* column (客户名称, Customer Name) is deliberately not an id.
TRANSACTION_ALIASES: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: ("customer_id", "customer id", "customerid", "customer no", "customer number", "customer code",
                  "cust id", "client id", "member id", "account id", "客户编号", "客户id", "客户代码", "客户号",
                  "会员号", "会员编号", "会员id", "用户id", "顾客编号"),
    ORDER_DATE: ("order_date", "order date", "invoicedate", "invoice date", "purchase date", "transaction date",
                 "sale date", "date", "订单日期", "下单时间", "下单日期", "交易日期", "销售日期", "购买日期",
                 "订单时间", "日期"),
    AMOUNT: ("amount", "sales", "revenue", "order amount", "sales amount", "total", "net sales", "value",
             "实付金额", "金额", "销售额", "订单金额", "成交金额", "实收金额", "销售金额"),
    ORDER_ID: ("order_id", "order id", "orderid", "order no", "order number", "invoice", "invoiceno",
               "invoice no", "订单编号", "订单号", "单号"),
    QUANTITY: ("quantity", "qty", "units", "数量", "件数"),
    COST: ("cost", "cogs", "unit cost total", "成本", "成本金额"),
    MARGIN: ("margin", "profit", "gross profit", "gross margin", "毛利", "利润", "毛利额"),
    PRODUCT: ("product", "item", "sku", "product name", "description", "产品", "商品", "商品名称", "产品名称"),
    CHANNEL: ("channel", "sales channel", "渠道", "销售渠道"),
    SALESPERSON: ("salesperson", "sales rep", "salesrep", "sales person", "owner", "account manager",
                  "销售员", "业务员", "销售", "客户经理", "销售代表"),
    REGION: ("region", "area", "territory", "区域", "地区", "大区"),
}

#: Headers recognised in a customer master file (other columns are kept under their own header).
CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: TRANSACTION_ALIASES[CUSTOMER_ID],
    NAME: ("name", "customer name", "customer", "client name", "客户名称", "客户姓名", "姓名", "名称", "会员名称"),
    REGION: TRANSACTION_ALIASES[REGION],
    SALESPERSON: TRANSACTION_ALIASES[SALESPERSON],
    CHANNEL: TRANSACTION_ALIASES[CHANNEL],
    SIGNUP_DATE: ("signup_date", "signup date", "sign up date", "created", "join date", "registration date",
                  "注册日期", "开户日期", "入会日期", "注册时间"),
    PHONE: ("phone", "mobile", "telephone", "电话", "手机", "手机号", "联系电话"),
    EMAIL: ("email", "e-mail", "邮箱", "电子邮件"),
    **dict(zip(VALUE_COMPONENTS, (("product_value", "产品价值"), ("service_value", "服务价值"),
                                  ("personnel_value", "人员价值"), ("image_value", "形象价值")))),
    **dict(zip(COST_COMPONENTS, (("monetary_cost", "货币成本"), ("time_cost", "时间成本"),
                                 ("energy_cost", "精力成本"), ("physical_cost", "体力成本")))),
}

_HEADER_NOISE = re.compile(r"[\s_\-./()（）:：#]+")


def normalise_header(text: object) -> str:
    """Case-, width- and punctuation-insensitive form of a header: 'Customer ID' == 'customer_id' == 'CUSTOMERID'."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(text)).strip().lower())


def match_columns(headers: Iterable[object], aliases: Mapping[str, tuple[str, ...]],
                  overrides: Mapping[str, str]) -> dict[str, str]:
    """Canonical column → header in the file: explicit overrides first, then the first alias that matches.

    Overrides name a header exactly (or case/punctuation-insensitively); a header
    is used for at most one canonical column.
    """
    headers = [str(h) for h in headers]
    by_form: dict[str, str] = {}
    for header in headers:
        by_form.setdefault(normalise_header(header), header)
    mapping: dict[str, str] = {}
    for canonical, wanted in overrides.items():
        header = wanted if wanted in headers else by_form.get(normalise_header(wanted))
        if header is not None:
            mapping[canonical] = header
    taken = set(mapping.values())
    for canonical, names in aliases.items():
        if canonical in mapping or canonical in overrides:
            continue
        for name in names:
            header = by_form.get(normalise_header(name))
            if header is not None and header not in taken:
                mapping[canonical] = header
                taken.add(header)
                break
    return mapping


def canonical_name(header: str) -> str:
    """The canonical column a header stands for ('区域', 'Sales Rep' → region, salesperson), else the header."""
    for aliases in (TRANSACTION_ALIASES, CUSTOMER_ALIASES):
        mapping = match_columns([header], aliases, {})
        if mapping:
            return next(iter(mapping))
    return header


def check_override_keys(overrides: Mapping[str, str], aliases: Mapping[str, tuple[str, ...]]) -> None:
    """Reject ``--col`` keys that are not canonical column names."""
    unknown = sorted(set(overrides) - set(aliases))
    if unknown:
        raise OptionError(f"unknown column name(s) in --col/[columns]: {', '.join(unknown)}",
                          hint="canonical names are " + ", ".join(aliases))


# --- customer ids -----------------------------------------------------------------
def clean_ids(values: pd.Series, *, zero_pad: int = 0) -> pd.Series:
    """Ids as categorical text with sorted categories: numbers lose a spurious '.0', text is trimmed,
    empty becomes missing.

    Works on the distinct values only, in Arrow (10M ids with 3M distinct cost a
    hash pass and a sort of the distinct values). Sorted categories make
    customer codes follow id order, so results never depend on row order.
    ``zero_pad`` restores leading zeros a spreadsheet hid behind a '0000000' number format.
    """
    arrow = _arrow_strings(values)
    if arrow is not None:
        fast = None if zero_pad else _fixed_width_ids(arrow)
        if fast is not None:
            return _categorical(*fast, index=values.index)
        codes, uniques = _encode_chunks(arrow)
    else:
        codes, uniques = _distinct_text(values)
    text = pc.utf8_trim_whitespace(uniques)
    if zero_pad:
        digits = pc.fill_null(pc.match_substring_regex(text, r"^\d+$"), False)
        text = pc.if_else(digits, pc.utf8_lpad(text, zero_pad, "0"), text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    order = pc.sort_indices(text).to_numpy()          # missing values sort last
    valid = len(text) - text.null_count
    ordered = text.take(pa.array(order[:valid]))
    # Cleaning can make two raw values one id (' 7' and '7'): equal neighbours share a category.
    first = np.ones(valid, dtype=bool)
    if valid > 1:
        first[1:] = pc.not_equal(ordered[1:], ordered[:-1]).to_numpy(zero_copy_only=False)
    rank = np.full(len(text) + 1, -1, dtype=np.int32)      # the extra slot maps missing codes (-1) to -1
    rank[order[:valid]] = np.cumsum(first) - 1
    return _categorical(rank[codes], pd.Index(ordered.filter(pa.array(first)).to_pandas(), dtype="str"),
                        index=values.index)


def _categorical(codes: np.ndarray, categories: pd.Index, *, index: pd.Index) -> pd.Series:
    """A categorical Series from codes (−1 = missing) and its sorted, distinct text categories."""
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories)), index=index)


#: Ids whose numbers run up to this many times the row count are ranked by direct addressing, not sorting.
DIRECT_RANK_FACTOR = 2


def _fixed_width_ids(arrow: pa.ChunkedArray) -> tuple[np.ndarray, pd.Index] | None:
    """Codes and sorted categories for the common export shape: every id the same prefix followed by the same
    number of digits ('0001234', 'C0000123'). Their numbers sort like their text, so the ids are ranked as
    integers instead of hashed and sorted as strings. None when the column is not of that shape."""
    if len(arrow) == 0 or arrow.null_count:
        return None
    first = arrow[0].as_py()
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    if not 1 <= width <= 18 or prefix != prefix.strip():
        return None
    head = prefix.encode()
    parts = []
    for chunk in arrow.chunks:
        numbers = _fixed_width_numbers(chunk, head, width)
        if numbers is None:
            return None
        parts.append(numbers)
    numbers = np.concatenate(parts)
    if numbers.max() < DIRECT_RANK_FACTOR * len(numbers) + 1024:
        present = np.zeros(int(numbers.max()) + 1, dtype=bool)
        present[numbers] = True
        distinct = np.flatnonzero(present)
        rank = np.cumsum(present, dtype=np.int32) - 1
        codes = rank[numbers]
    else:
        distinct, codes = np.unique(numbers, return_inverse=True)
    categories = pd.Index(_fixed_width_text(head, distinct, width).to_pandas(), dtype="str")
    return codes.astype(np.int32, copy=False), categories


def _fixed_width_numbers(chunk: pa.Array, head: bytes, width: int) -> np.ndarray | None:
    """The numbers after ``head`` in one chunk of ids, read straight from its bytes; None unless every id is
    ``head`` followed by exactly ``width`` ASCII digits.

    Equal lengths make the chunk's text one (ids × bytes) matrix, so the checks and the digit arithmetic are
    a few column-wise numpy passes instead of Arrow regex, slice and cast kernels (0.2 s for 10M ids, not 1 s).
    """
    size = len(head) + width
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=offset_type, count=len(chunk) + 1,
                            offset=chunk.offset * np.dtype(offset_type).itemsize)
    if offsets[-1] - offsets[0] != len(chunk) * size or (np.diff(offsets) != size).any():
        return None
    cells = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=len(chunk) * size,
                          offset=int(offsets[0])).reshape(len(chunk), size)
    if head and not (cells[:, :len(head)] == np.frombuffer(head, dtype=np.uint8)).all():
        return None
    numbers = np.zeros(len(chunk), dtype=np.int64)
    for column in range(len(head), size):
        digit = cells[:, column] - np.uint8(ord("0"))      # bytes below '0' wrap round to large values
        if (digit > 9).any():
            return None
        numbers *= 10
        numbers += digit
    return numbers


#: The four ASCII digits of every number below 10,000, one row each: ids are written four digits at a time.
_DIGIT_GROUPS = (np.arange(10_000)[:, None] // 10 ** np.arange(3, -1, -1) % 10 + ord("0")).astype(np.uint8)


def _fixed_width_text(head: bytes, numbers: np.ndarray, width: int) -> pa.Array:
    """``head`` + each number zero-padded to ``width`` digits, written straight into an Arrow text buffer."""
    size = len(head) + width
    cells = np.empty((len(numbers), size), dtype=np.uint8)
    cells[:, :len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest, end = numbers, size
    while end > len(head):
        digits = min(4, end - len(head))
        rest, group = np.divmod(rest, 10_000)
        cells[:, end - digits:end] = _DIGIT_GROUPS[group, 4 - digits:]
        end -= digits
    offsets = np.arange(len(numbers) + 1, dtype=np.int64) * size
    return pa.LargeStringArray.from_buffers(len(numbers), pa.py_buffer(offsets), pa.py_buffer(cells))


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(int32 code per row, −1 when missing; distinct values as an Arrow string array) of a column that is
    not Arrow text already (categorical, numbers, Python objects from a spreadsheet)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int32)
        return codes, pa.array(_as_text(pd.Series(values.cat.categories, dtype=object)), type=pa.string())
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        text = _numbers_as_text(pd.Series(uniques, dtype="float64"))
    else:
        text = _as_text(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return codes.astype(np.int32), pa.array(text.astype(object), type=pa.string())


def _arrow_strings(values: pd.Series) -> pa.ChunkedArray | None:
    """The column as Arrow string chunks when it is Arrow-backed text already (no copy), else None."""
    if not (isinstance(values.dtype, (pd.StringDtype, pd.ArrowDtype)) and
            getattr(values.dtype, "storage", "pyarrow") == "pyarrow"):
        return None
    arrow = pa.array(values.array)
    if isinstance(arrow, pa.Array):
        arrow = pa.chunked_array([arrow])
    return arrow if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type) else None


def _encode_chunks(arrow: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encode chunk by chunk (no combined copy of the text); Arrow's encoder shares one memo across
    chunks, so every chunk ends up with the same, final dictionary."""
    encoded = pc.dictionary_encode(arrow)
    if encoded.num_chunks == 0:
        return np.empty(0, dtype=np.int32), pa.array([], type=arrow.type)
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    if any(len(chunk.dictionary) != len(dictionary) for chunk in encoded.chunks):
        encoded = pc.dictionary_encode(arrow.combine_chunks())      # not expected; stay correct regardless
        return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary
    codes = np.concatenate([pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    return codes.astype(np.int32, copy=False), dictionary


def _as_text(uniques: pd.Series) -> pd.Series:
    """Distinct raw values as text; numbers (12345, 12345.0) without a spurious '.0'."""
    is_number = uniques.map(lambda u: isinstance(u, (int, float, np.number)) and not isinstance(u, bool)).astype(bool)
    text = uniques.astype("str")
    if is_number.any():
        text[is_number] = _numbers_as_text(uniques[is_number].astype("float64")).to_numpy()
    return text


def _numbers_as_text(values: pd.Series) -> pd.Series:
    """12345 and 12345.0 → '12345'; 12.5 stays '12.5'; missing stays missing."""
    numbers = values.astype("float64")
    integral = numbers.notna() & (numbers == np.floor(numbers)) & (numbers.abs() < 2**63)
    text = pd.Series(pd.NA, index=values.index, dtype="str")
    text[integral] = numbers[integral].astype("int64").astype("str")
    other = numbers.notna() & ~integral
    text[other] = numbers[other].map(repr).astype("str")
    return text


# --- numbers ----------------------------------------------------------------------
_CURRENCY = re.compile(r"[¥￥$€£\s\u00a0]|RMB|CNY|USD|EUR|元")
_PARENTHESISED = re.compile(r"^\((.*)\)$")
#: Commas only as thousands separators: '1,234.50' is 1234.5, but '12,50' (a decimal comma) is not 1250.
_GROUPED = re.compile(r"\(?[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\)?")


@dataclass(frozen=True)
class ParsedNumbers:
    """Parsed values, and which non-empty cells were not numbers."""

    values: np.ndarray
    bad: np.ndarray


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Numbers from numbers or text such as '¥1,234.50', '$12', '(35.00)' (accounting negative), '1 200'."""
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(object)
    if pd.api.types.is_numeric_dtype(values.dtype) or (
            values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("integer", "floating",
                                                                                          "mixed-integer-float")):
        # Numbers already (a typed column, or spreadsheet cells holding numbers): no text to clean.
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers) & ~values.isna().to_numpy()
        return ParsedNumbers(np.where(bad, np.nan, numbers), bad)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    # NFKC folds full-width digits and signs (１２３, （35.00）, ￥) into their ASCII forms.
    texts = pd.Series(uniques, dtype=object).astype("str").str.normalize("NFKC").str.strip()
    cleaned = texts.str.replace(_CURRENCY, "", regex=True)
    grouped = cleaned.str.fullmatch(_GROUPED).astype(bool)
    cleaned = (cleaned.where(~grouped, cleaned.str.replace(",", "", regex=False))
               .str.replace(_PARENTHESISED, r"-\1", regex=True))
    parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    parsed[~np.isfinite(parsed)] = np.nan          # 'inf', '1e999': not an amount
    empty = (texts == "").to_numpy()
    numbers = np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.nan) if len(uniques) else \
        np.full(len(values), np.nan)
    bad_unique = np.isnan(parsed) & ~empty
    bad = (codes >= 0) & bad_unique[np.maximum(codes, 0)] if len(uniques) else np.zeros(len(values), dtype=bool)
    return ParsedNumbers(numbers, bad)


# --- dates ------------------------------------------------------------------------
_TIME = r"(?:[T ]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})?"
DATE_STYLES: dict[str, re.Pattern[str]] = {
    "iso": re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}{_OFFSET}$"),
    "y/m/d": re.compile(rf"^(\d{{4}})[/.](\d{{1,2}})[/.](\d{{1,2}}){_TIME}$"),
    "年月日": re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"
                        r"(?:\s*(\d{1,2}[:：]\d{2}(?:[:：]\d{2})?))?$"),
    "day/month": re.compile(rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}}){_TIME}$"),
    "yyyymmdd": re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    "excel serial": re.compile(r"^(\d{1,7})(?:\.\d+)?$"),
}
#: Day/month orders for dates like 05/03/2024: day first, month first.
DATE_ORDERS = ("dmy", "mdy")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Excel serial numbers accepted as dates: 1950-01-01 .. 2199-12-31 (a wider range is more likely an id).
SERIAL_RANGE = (18264, 109939)


@dataclass
class ParsedDates:
    """Parsed dates (NaT where missing or unparseable) with what was seen, for the ingest report."""

    values: pd.Series
    bad: np.ndarray
    styles: dict[str, int] = field(default_factory=dict)
    date_order: str | None = None
    order_evidence: str | None = None


def parse_dates(values: pd.Series, *, date_order: str | None = None, where: str = "") -> ParsedDates:
    """Dates from real dates, Excel serials, ISO, 2024/1/5, 2024年1月5日, 20240105 and dd/mm/yyyy or mm/dd/yyyy.

    Day/month order for a/b/yyyy dates is decided once per column: from a value
    that only fits one order (13/01/2024 is day first), else from ``date_order``,
    else a :class:`BadValueError` asks for ``--date-order`` — never a silent guess.
    Time of day and UTC offsets are kept as local wall-clock time.
    """
    if date_order is not None and date_order not in DATE_ORDERS:
        raise OptionError(f"date order {date_order!r} is not dmy or mdy", hint="use --date-order dmy or mdy")
    n = len(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values.astype("datetime64[ns]")
        return ParsedDates(parsed.reset_index(drop=True), np.zeros(n, dtype=bool),
                           {"date": int(parsed.notna().sum())})
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    result, style = _parse_unique_dates(pd.Series(uniques, dtype=object), date_order, where)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    present = codes >= 0
    out[present] = result.values[codes[present]]
    # Blank text is missing, not unparseable; the trailing False is what code -1 (missing) picks.
    blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [False], dtype=bool)
    bad = present & np.isnat(out) & ~blank[codes]
    style_of_row = style.to_numpy(dtype=object)[codes[~np.isnat(out)]]
    counts = pd.Series(style_of_row).value_counts()
    styles = {str(k): int(v) for k, v in counts.items()}
    return ParsedDates(pd.Series(out), bad, styles, result.attrs.get("order"), result.attrs.get("evidence"))


def _parse_unique_dates(uniques: pd.Series, date_order: str | None, where: str) -> tuple[pd.Series, pd.Series]:
    """Parse distinct raw values; returns (datetime64 values, style name per value)."""
    out = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    style = pd.Series("", index=uniques.index, dtype=object)
    is_datetime = uniques.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year"))
    if is_datetime.any():
        out[is_datetime] = pd.to_datetime(uniques[is_datetime].map(_naive), errors="coerce")
        style[is_datetime] = "date"
    is_number = uniques.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
    if is_number.any():
        numbers = uniques[is_number].astype("float64")
        _set_numeric_dates(out, style, numbers)
    text = uniques[~is_datetime & ~is_number].astype("str").str.strip()
    if len(text):
        _set_text_dates(out, style, text, date_order, where, out.attrs)
    return out, style


def _naive(value: object) -> object:
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


def _set_text_dates(out: pd.Series, style: pd.Series, text: pd.Series, date_order: str | None, where: str,
                    attrs: dict) -> None:
    remaining = pd.Series(True, index=text.index)
    for name, pattern in DATE_STYLES.items():
        parts = text[remaining].str.extract(pattern)
        hit = parts[0].notna()
        if not hit.any():
            continue
        parts = parts[hit]
        if name == "excel serial":
            _set_numeric_dates(out, style, pd.to_numeric(text[parts.index], errors="coerce"))
        else:
            if name == "day/month":
                order, evidence = _day_month_order(parts, date_order, where)
                attrs["order"], attrs["evidence"] = order, evidence
                day, month = (parts[0], parts[1]) if order == "dmy" else (parts[1], parts[0])
                year, clock = parts[2], parts[3]
            elif name == "yyyymmdd":
                no_clock = pd.Series(None, index=parts.index, dtype="str")
                year, month, day, clock = parts[0], parts[1], parts[2], no_clock
            else:
                year, month, day, clock = parts[0], parts[1], parts[2], parts[3]
            iso = (year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
                   + (" " + clock.fillna("").str.replace("：", ":")).where(clock.notna(), ""))
            out[parts.index] = pd.to_datetime(iso, format="ISO8601", errors="coerce")
            style[parts.index] = name
        remaining[parts.index] = False
    if remaining.any():
        # Month names and other spelled-out dates ('5 Jan 2024', 'January 5, 2024'): only when a letter is present.
        worded = text[remaining & text.str.contains(r"[A-Za-z]{3}", regex=True)]
        if len(worded):
            stamps = pd.to_datetime(worded, format="mixed", errors="coerce", dayfirst=date_order == "dmy")
            out[worded.index] = stamps
            style[worded.index] = "text"


def _day_month_order(parts: pd.DataFrame, date_order: str | None, where: str) -> tuple[str, str | None]:
    """dmy or mdy for a/b/yyyy dates: from the data when it tells, else ``date_order``, else an error."""
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first = parts.index[(first > 12) & (second <= 12)]
    month_first = parts.index[(second > 12) & (first <= 12)]
    if len(day_first) and len(month_first):
        raise BadValueError(
            f"{where}dates mix day/month orders: {_sample(parts, day_first)} only fits day first but "
            f"{_sample(parts, month_first)} only fits month first",
            hint="fix the export so one order is used, or split the file",
        )
    detected = "dmy" if len(day_first) else "mdy" if len(month_first) else None
    if detected and date_order and detected != date_order:
        raise BadValueError(
            f"{where}--date-order {date_order} contradicts the data: "
            f"{_sample(parts, day_first if detected == 'dmy' else month_first)} only fits {detected}",
            hint=f"use --date-order {detected} or leave it out",
        )
    if detected:
        example = _sample(parts, day_first if detected == "dmy" else month_first)
        return detected, f"{example} only fits {'day/month' if detected == 'dmy' else 'month/day'}"
    if date_order:
        return date_order, None
    raise BadValueError(
        f"{where}dates like {_sample(parts, parts.index)} could be day/month or month/day, "
        "and no date in the file settles it",
        hint="say which with --date-order dmy (5 March) or --date-order mdy (May 3)",
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
    if parsed.bad.any() or pd.isna(parsed.values.iloc[0]):
        raise OptionError(f"{option} {text!r} is not a date", hint="write the date as YYYY-MM-DD, e.g. 2024-06-30")
    return pd.Timestamp(parsed.values.iloc[0])
