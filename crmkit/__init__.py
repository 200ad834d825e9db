"""crmkit: customer analytics for CRM analysts — RFM, 80/20 tiers, CLV models, lifecycle and churn risk.

The library under the ``crmkit`` command::

    import crmkit

    tx = crmkit.read_transactions("sales.xlsx")           # or a DataFrame; columns={"amount": "实收金额"}
    result = crmkit.score(tx, options=crmkit.ScoreOptions(model="mbgnbd", time_unit="week"))
    result.customers                                      # one row per customer: RFM, tier, CLV, stage, risk
    result.summary.tiers, result.summary.pareto           # typed summaries; result.summary.to_json()

Reading goes through the same mapping, cleaning and drop report as the command line; ``score`` is the run
behind ``crmkit segment``, ``retention_report`` the one behind ``crmkit retention``. The models are usable on their own: :func:`fit_transaction_model` on each
customer's frequency, recency and T (see :func:`customer_summary`), :func:`fit_gamma_gamma` on frequency and
mean spend. ``market_baskets`` is the run behind ``crmkit basket`` (rules, next-best offers, up-sell; also part
of ``score`` when the transactions name products). Names are imported on first use, so ``import crmkit`` stays
quick.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmkit.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from crmkit.ingest.report import CustomerData, TransactionData

#: Public names and the module each lives in.
_LAZY = {
    "ScoreOptions": "crmkit.pipeline.options",
    "Sharing": "crmkit.pipeline.privacy",
    "ScoreResult": "crmkit.pipeline.results",
    "Summary": "crmkit.pipeline.results",
    "score": "crmkit.pipeline.run",
    "retention_report": "crmkit.pipeline.run",
    "RetentionReport": "crmkit.pipeline.results",
    "market_baskets": "crmkit.pipeline.run",
    "BasketOptions": "crmkit.scoring.basket",
    "load_model": "crmkit.ingest.model_file",
    "customer_summary": "crmkit.scoring.summary",
    "backtest": "crmkit.scoring.backtest",
    "BacktestReport": "crmkit.scoring.backtest",
    "TransactionModel": "crmkit.models",
    "GammaGammaModel": "crmkit.models",
    "FittedModels": "crmkit.models",
    "fit_transaction_model": "crmkit.models",
    "fit_gamma_gamma": "crmkit.models",
    "LifecycleRules": "crmkit.scoring.lifecycle",
    "ChurnBands": "crmkit.scoring.churn",
    "ActionRules": "crmkit.scoring.actions",
    "ActionRule": "crmkit.scoring.actions",
    "TierRule": "crmkit.scoring.tiers",
    "CrmkitError": "crmkit.errors",
}

__all__ = ["__version__", "read_customers", "read_transactions", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'crmkit' has no attribute {name!r}")


def read_transactions(
    source: str | Path | pd.DataFrame | list[str | Path | pd.DataFrame],
    *,
    columns: dict[str, str] | None = None,
    sheet: str | None = None,
    strict: bool = False,
    date_order: str | None = None,
    header_row: int | None = None,
    decimal: str | None = None,
) -> TransactionData:
    """Transactions from files (CSV/TSV/XLSX/Parquet, folders of them) or DataFrames, as the CLI reads them.

    ``columns`` maps canonical names to headers (``{"amount": "实收金额"}``) where the aliases do not find
    them. Unusable rows are dropped and reported (``.report``, ``.rejects``); ``strict`` raises on the first.
    Where a file cannot settle its own dialect, say it: ``date_order`` ('dmy' or 'mdy'), ``decimal`` ('.' or
    ','), ``header_row`` (counted from 1, as Excel shows it); ``.report.files`` says what was decided.
    """
    import pandas as pd

    from crmkit.ingest.transactions import load_transactions

    sources = source if isinstance(source, list) else [source]
    return load_transactions(
        [item if isinstance(item, pd.DataFrame) else Path(item) for item in sources],
        columns=columns,
        sheet=sheet,
        strict=strict,
        date_order=date_order,
        header_row=header_row,
        decimal=decimal,
    )


def read_customers(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    sheet: str | None = None,
    date_order: str | None = None,
) -> CustomerData:
    """The customer master file (id plus name, region, salesperson, signup date, value components)."""
    from crmkit.ingest.customers import load_customers

    return load_customers(Path(path), columns=columns, sheet=sheet, date_order=date_order)
