"""Canonical column names, vocabularies and time units shared by every layer.

Modules after ingest refer to columns only through these constants, so a
header rename in an export never reaches the scorers. The command line builds
its option choices from the vocabularies here, so this module imports neither
numpy nor pandas until :func:`vocabulary_column` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from crmkit.errors import OptionError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# --- transactions -----------------------------------------------------------
CUSTOMER_ID: Final = "customer_id"
ORDER_DATE: Final = "order_date"
AMOUNT: Final = "amount"
ORDER_ID: Final = "order_id"
QUANTITY: Final = "quantity"
COST: Final = "cost"
MARGIN: Final = "margin"
PRODUCT: Final = "product"
CATEGORY: Final = "category"
CHANNEL: Final = "channel"
SALESPERSON: Final = "salesperson"
REGION: Final = "region"
#: The order's status as exported (paid, 交易关闭, …): orders whose status is excluded are not revenue.
STATUS: Final = "status"
#: Money refunded on the order or line: revenue is amount − refund.
REFUND: Final = "refund"
SOURCE_FILE: Final = "source_file"
SOURCE_ROW: Final = "source_row"

REQUIRED_TRANSACTION_COLUMNS: Final = (CUSTOMER_ID, ORDER_DATE, AMOUNT)
OPTIONAL_TRANSACTION_COLUMNS: Final = (
    ORDER_ID,
    QUANTITY,
    COST,
    MARGIN,
    PRODUCT,
    CATEGORY,
    CHANNEL,
    SALESPERSON,
    REGION,
    STATUS,
    REFUND,
)

# Why ingest drops a row: canonical English, as in --rejects files (labels in crmkit.output.labels).
REASON_ID: Final = "empty customer_id"
REASON_DATE: Final = "missing or unparseable order_date"
REASON_AMOUNT: Final = "missing or non-numeric amount"
REASON_REPEAT: Final = "repeated order line"
REASON_DATE_RANGE: Final = "order_date out of range"
REASON_STATUS: Final = "order excluded by status"
REASON_TOTALS: Final = "totals row"
REASON_FIELDS: Final = "wrong number of fields"

#: The custom document property of every workbook crmkit writes: what it holds, "results" (scores, rejects:
#: a folder scan skips it) or "data" (sample exports, read like any export).
WORKBOOK_MARKER: Final = "crmkit_holds"
HOLDS_RESULTS: Final = "results"
HOLDS_DATA: Final = "data"

# --- customer master file ---------------------------------------------------
NAME: Final = "name"
SIGNUP_DATE: Final = "signup_date"
PHONE: Final = "phone"
EMAIL: Final = "email"

# Kotler's customer delivered value components (per customer, in the master file).
VALUE_COMPONENTS: Final = ("product_value", "service_value", "personnel_value", "image_value")
COST_COMPONENTS: Final = ("monetary_cost", "time_cost", "energy_cost", "physical_cost")

# --- time units -------------------------------------------------------------
DAYS_PER_YEAR: Final = 365.25
TIME_UNIT_DAYS: Final[dict[str, float]] = {
    "day": 1.0,
    "week": 7.0,
    "month": DAYS_PER_YEAR / 12.0,
}

# --- vocabularies (canonical English keys; labels live in crmkit.output.labels) -----
TIERS: Final = ("platinum", "gold", "iron", "prospect")
STAGES: Final = ("acquisition", "growth", "maturity", "decline", "termination")
CHURN_BANDS: Final = ("low", "medium", "high")
#: What to do next with a customer, one word each (rules in :mod:`crmkit.scoring.actions`).
ACTIONS: Final = ("win_back", "retain", "develop", "maintain", "let_go")


def vocabulary_column(codes: np.ndarray, vocabulary: tuple[str, ...]) -> pd.Categorical:
    """Positions in ``vocabulary`` (−1 = missing) as a categorical in that order: tiers, stages and bands
    then sort in their natural order and cost one byte per customer instead of a string."""
    import numpy as np
    import pandas as pd

    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8), categories=pd.Index(vocabulary, dtype="str"))


LANGUAGES: Final = ("en", "zh")

# --- choices of options (defined here so the command line needs no heavy import to offer them) ----
#: Purchase models for CLV and churn risk.
MODEL_NAMES: Final = ("bgnbd", "mbgnbd", "pareto")
#: RFM segment schemes.
RFM_SCHEMES: Final = ("classic", "cn8")
#: How tiers are cut: top N% of customers, or customers making the top N% of value.
TIER_MODES: Final = ("rank", "share")
#: The value that ranks customers into tiers.
TIER_BY: Final = ("revenue", "profit", "clv")
#: Day/month orders for dates like 05/03/2024: day first, month first.
DATE_ORDERS: Final = ("dmy", "mdy")
#: Periods of the retention view, and their length in months.
PERIOD_MONTHS: Final = {"month": 1, "quarter": 3, "year": 12}
PERIODS: Final = tuple(PERIOD_MONTHS)
#: Engines that run a scoring: pandas in memory, or Dask over partitions (``pip install 'crmkit[dask]'``).
ENGINES: Final = ("pandas", "dask")
#: What makes a market basket: one order (or purchase occasion), or everything a customer bought.
BASKET_BY: Final = ("order", "customer")
#: What a basket holds: products, or their categories.
ITEM_LEVELS: Final = (PRODUCT, CATEGORY)


def check_lang(lang: str) -> int:
    """Position of ``lang`` in :data:`LANGUAGES`; :class:`OptionError` naming the valid ones otherwise."""
    if lang not in LANGUAGES:
        raise OptionError(f"unknown language {lang!r}; choose one of: {', '.join(LANGUAGES)}")
    return LANGUAGES.index(lang)
