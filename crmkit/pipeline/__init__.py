"""What is analysed: one scoring run over canonical frames, and what of it may leave the team."""

from crmkit.pipeline.options import TIER_BY, ScoreOptions, options_from
from crmkit.pipeline.privacy import Sharing
from crmkit.pipeline.results import RetentionReport, ScoreResult, Summary, ValueReport
from crmkit.pipeline.run import (
    backtest_models,
    compare,
    comparison_sheets,
    dropped_warning,
    market_baskets,
    read_summary,
    read_warnings,
    retention_report,
    score,
    value_columns,
    value_report,
)

__all__ = [
    "TIER_BY",
    "RetentionReport",
    "ScoreOptions",
    "ScoreResult",
    "Sharing",
    "Summary",
    "ValueReport",
    "backtest_models",
    "compare",
    "comparison_sheets",
    "dropped_warning",
    "market_baskets",
    "options_from",
    "read_summary",
    "read_warnings",
    "retention_report",
    "score",
    "value_columns",
    "value_report",
]
