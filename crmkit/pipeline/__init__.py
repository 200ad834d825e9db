"""What is analysed: one scoring run over canonical frames, and what of it may leave the team."""

from crmkit.pipeline.options import TIER_BY, ScoreOptions, options_from
from crmkit.pipeline.privacy import Sharing
from crmkit.pipeline.results import ScoreResult, Summary, ValueReport
from crmkit.pipeline.run import (
    backtest_models,
    comparison_sheets,
    market_baskets,
    score,
    value_columns,
    value_report,
)

__all__ = [
    "TIER_BY",
    "ScoreOptions",
    "ScoreResult",
    "Sharing",
    "Summary",
    "ValueReport",
    "backtest_models",
    "comparison_sheets",
    "market_baskets",
    "options_from",
    "score",
    "value_columns",
    "value_report",
]
