"""Canonical column names, vocabularies and time units shared by every layer.

Modules after ingest refer to columns only through these constants, so a
header rename in an export never reaches the scorers.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from crmkit.errors import OptionError

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
)

# Why ingest drops a row: canonical English, as in --rejects files (labels in crmkit.output.labels).
REASON_ID: Final = "empty customer_id"
REASON_DATE: Final = "missing or unparseable order_date"
REASON_AMOUNT: Final = "missing or non-numeric amount"
REASON_REPEAT: Final = "repeated order line"

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


def vocabulary_column(codes: np.ndarray, vocabulary: tuple[str, ...]) -> pd.Categorical:
    """Positions in ``vocabulary`` (−1 = missing) as a categorical in that order: tiers, stages and bands
    then sort in their natural order and cost one byte per customer instead of a string."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8), categories=pd.Index(vocabulary, dtype="str"))


LANGUAGES: Final = ("en", "zh")


def check_lang(lang: str) -> int:
    """Position of ``lang`` in :data:`LANGUAGES`; :class:`OptionError` naming the valid ones otherwise."""
    if lang not in LANGUAGES:
        raise OptionError(f"unknown language {lang!r}; choose one of: {', '.join(LANGUAGES)}")
    return LANGUAGES.index(lang)
