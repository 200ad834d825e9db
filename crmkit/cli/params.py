"""Options shared by several commands, each defined once with its help text.

The choices are spelled out as enums (so the type checker knows them) and held equal to the vocabularies of
:mod:`crmkit.schema`, which imports nothing heavy: the commands' signatures (and ``--help``) need no pandas.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from crmkit.schema import (
    BASKET_BY,
    DATE_ORDERS,
    ENGINES,
    ITEM_LEVELS,
    LANGUAGES,
    MODEL_NAMES,
    PERIODS,
    RFM_SCHEMES,
    TIER_BY,
    TIER_MODES,
    TIME_UNIT_DAYS,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class TimeUnit(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class ModelName(StrEnum):
    bgnbd = "bgnbd"
    mbgnbd = "mbgnbd"
    pareto = "pareto"


class Scheme(StrEnum):
    classic = "classic"
    cn8 = "cn8"


class TierBy(StrEnum):
    revenue = "revenue"
    profit = "profit"
    clv = "clv"


class TierMode(StrEnum):
    rank = "rank"
    share = "share"


class DateOrder(StrEnum):
    dmy = "dmy"
    mdy = "mdy"


class Lang(StrEnum):
    en = "en"
    zh = "zh"


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


class BasketBy(StrEnum):
    order = "order"
    customer = "customer"


class ItemLevel(StrEnum):
    product = "product"
    category = "category"


class EngineName(StrEnum):
    pandas = "pandas"
    dask = "dask"


#: Each option's choices and the vocabulary they must equal (tests/test_cli.py holds them together).
VOCABULARIES: dict[type[Enum], tuple[str, ...]] = {
    TimeUnit: tuple(TIME_UNIT_DAYS),
    ModelName: MODEL_NAMES,
    Scheme: RFM_SCHEMES,
    TierBy: TIER_BY,
    TierMode: TIER_MODES,
    DateOrder: DATE_ORDERS,
    Lang: LANGUAGES,
    Period: PERIODS,
    BasketBy: BASKET_BY,
    ItemLevel: ITEM_LEVELS,
    EngineName: ENGINES,
}


# --- shared options -----------------------------------------------------------
Files = Annotated[
    list[Path],
    typer.Argument(
        metavar="FILE",
        help="Transaction files (CSV/TSV/XLSX/Parquet) or folders of them; concatenated. A folder's other files, "
        "and results crmkit wrote there before, are skipped and listed.",
        show_default=False,
    ),
]


CustomersFile = Annotated[
    Path | None,
    typer.Option(
        "--customers",
        help="Customer master file (id plus name, region, salesperson, signup date, value components). Customers with no purchases appear as prospects.",
    ),
]


Col = Annotated[
    list[str] | None,
    typer.Option("--col", help="Map a column: CANONICAL=HEADER, e.g. --col amount=实收金额. Repeatable."),
]


Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="crmkit.toml with [columns], [tiers], [lifecycle], [churn], [retention], [value], [output], [basket] tables (default: ./crmkit.toml if present).",
    ),
]


Sheet = Annotated[str | None, typer.Option("--sheet", help="Excel sheet to read (default: the first).")]


Strict = Annotated[
    bool,
    typer.Option("--strict", help="Treat any bad row (bad date, empty id, non-numeric amount) as an error (exit 2)."),
]


Rejects = Annotated[
    Path | None, typer.Option("--rejects", help="Write every dropped row with its reason to this CSV/XLSX file.")
]


DateOrderOpt = Annotated[
    DateOrder | None,
    typer.Option(
        "--date-order",
        help="Day/month order for ambiguous dates like 05/03/2024 (detected per file when the data tells).",
    ),
]


HeaderRow = Annotated[
    int | None,
    typer.Option(
        "--header-row",
        help="Line (CSV) or sheet row (Excel) of the header, counted from 1 as an editor or Excel shows it (default: the row among the first 30 naming the most known columns).",
    ),
]


DecimalMark = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="Decimal mark of numbers written as text, . or , (default: decided per column from all its values, e.g. 1.234,56 says ,).",
    ),
]


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score as of this date (default: the last transaction date); later transactions are ignored and counted.",
    ),
]


Unit = Annotated[
    TimeUnit, typer.Option("--time-unit", help="Unit of recency, T and model parameters (a month is 365.25/12 days).")
]


Out = Annotated[
    Path | None,
    typer.Option("--out", help="Write the per-customer table; format by extension: .xlsx, .csv, .parquet, .json."),
]


Format = Annotated[
    OutputFormat,
    typer.Option("--format", help="table: a summary on the terminal; json: one JSON object on stdout for scripts."),
]


LangOpt = Annotated[
    Lang | None,
    typer.Option(
        "--lang",
        help="Language of terminal and Excel labels (default: [output] lang in config, else en). CSV/JSON/Parquet stay English.",
    ),
]


Model = Annotated[
    ModelName | None,
    typer.Option(
        "--model",
        help="Purchase model for CLV and churn risk: mbgnbd (default; one-time buyers can be inactive, unlike bgnbd), bgnbd, pareto.",
    ),
]


Horizon = Annotated[str | None, typer.Option("--horizon", help="CLV horizon: 12m (default), 52w, 365d, 1y.")]


Margin = Annotated[
    str | None,
    typer.Option(
        "--margin",
        metavar="RATE",
        help="Margin rate for CLV, 0.3 or 30% (default: from a cost/margin column, else 1 = revenue).",
    ),
]


Discount = Annotated[
    str | None,
    typer.Option("--discount-rate", metavar="RATE", help="Annual discount rate for CLV, 0.10 or 10% (the default)."),
]


GroupBy = Annotated[
    str | None, typer.Option("--group-by", help="Roll up per salesperson, region, channel or any customer column.")
]


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]


IncludeAttributes = Annotated[
    bool,
    typer.Option(
        "--include-attributes",
        help="Also export master-file columns about the person (name, phone, e-mail, signup date, …). Default: customer_id, sales assignment and scores only.",
    ),
]


Pseudonymize = Annotated[
    str | None,
    typer.Option(
        "--pseudonymize",
        metavar="KEY",
        help='Replace customer ids with keyed hashes (HMAC-SHA256) in every output, so a list can be shared and joined back by whoever holds KEY. Tip: --pseudonymize "$CRMKIT_KEY" keeps the key out of shell history.',
    ),
]
ModelIn = Annotated[
    Path | None,
    typer.Option(
        "--model-in",
        help="Score with a model saved earlier by --model-out (no fit): e.g. the quarter's model in a monthly batch.",
    ),
]


EngineOpt = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="pandas: every transaction in memory (default). dask: partitions on a Dask cluster, for more data than memory (pip install 'crmkit[dask]'); CSV/Parquet inputs; a per-customer --out is a Parquet folder.",
    ),
]


Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="DASK_SCHEDULER_ADDRESS",
        metavar="ADDRESS",
        help="With --engine dask: the Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: a local cluster on 127.0.0.1).",
    ),
]


Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="With --engine dask and no --scheduler: worker processes (default: one worker in this process, a thread per core).",
    ),
]


MemoryLimit = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="With --engine dask and no --scheduler: memory per worker, e.g. 4GB; beyond it workers spill to disk (default: the machine's memory shared out).",
    ),
]


StorageOption = Annotated[
    list[str] | None,
    typer.Option(
        "--storage-option",
        metavar="KEY=VALUE",
        help="With --engine dask: an option for s3://, gs:// or abfs:// inputs (fsspec), e.g. anon=true. Repeatable.",
    ),
]


PeriodOpt = Annotated[
    Period | None,
    typer.Option(
        "--period", help="Count retention per month (default), quarter or year ([retention] period in crmkit.toml)."
    ),
]
