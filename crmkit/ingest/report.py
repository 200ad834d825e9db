"""What ingest hands on: canonical frames, and a report of what was read, used and dropped, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmkit.ingest.dialect import Dialect
from crmkit.ingest.files import SkippedFile


# --- reports --------------------------------------------------------------------------
@dataclass
class FileReport:
    """How one file was read: format, sheet, rows, header mapping, and its dialect (encoding, header row,
    separator, decimal marks, date style, revenue basis …)."""

    path: str
    format: str
    sheet: str | None = None
    rows: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    dialect: Dialect = field(default_factory=Dialect)
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """Everything read, used and dropped (count per reason, a few examples with row numbers)."""

    files: list[FileReport]
    rows_read: int
    rows_used: int
    rows_dropped: int
    drop_counts: dict[str, int]
    examples: list[dict[str, Any]]
    warnings: list[str]
    #: Files a folder held that were not read (other types, lock files, crmkit's own results), with why.
    skipped: tuple[SkippedFile, ...] = ()
    #: Orders excluded by their status, per status as written (交易关闭, voided, …).
    excluded_orders: dict[str, int] = field(default_factory=dict)


@dataclass
class TransactionData:
    """Canonical transactions (``frame``), every dropped row with its reason (``rejects``), and the report."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    report: IngestReport


@dataclass
class CustomerData:
    """The canonical customer master (one row per customer_id) and how it was read."""

    frame: pd.DataFrame
    report: FileReport
