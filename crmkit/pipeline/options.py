"""What shapes a scoring run, and where each setting comes from.

:class:`ScoreOptions` carries typed rules (tiers, lifecycle, churn bands), parsed once. :func:`options_from`
settles precedence in one place: a value given by the caller (the command line) wins over the crmkit.toml table,
which wins over the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmkit.errors import OptionError
from crmkit.models import MODEL_NAMES
from crmkit.pipeline import checks
from crmkit.pipeline.privacy import Sharing
from crmkit.schema import TIME_UNIT_DAYS
from crmkit.scoring.actions import ActionRules
from crmkit.scoring.actions import rules_from_config as actions_from_config
from crmkit.scoring.basket import CONFIG_KEYS as BASKET_KEYS
from crmkit.scoring.basket import BasketOptions
from crmkit.scoring.churn import RANKED_TIERS, ChurnBands, bands_from_config
from crmkit.scoring.lifecycle import LifecycleRules, rules_from_config
from crmkit.scoring.retention import PERIODS
from crmkit.scoring.rfm import RFM_SCHEMES
from crmkit.scoring.tiers import DEFAULT_SHARE_CUTS, TierRule
from crmkit.scoring.value import FittedModels, parse_horizon
from crmkit.settings import check_config

#: The values that can rank customers into tiers.
TIER_BY = ("revenue", "profit", "clv")


@dataclass(frozen=True)
class ScoreOptions:
    """Everything that shapes one scoring run; every field has a sensible default."""

    #: Score as of this day (default: the day of the last transaction); later transactions are ignored.
    as_of: pd.Timestamp | None = None
    #: Unit of recency, T and the model parameters: day, week or month (365.25/12 days).
    time_unit: str = "day"
    rfm_scheme: str = "classic"
    #: What ranks the tiers: revenue, profit or clv; None: profit when there is a cost or margin column, else revenue.
    tier_by: str | None = None
    tiers: TierRule = field(default_factory=TierRule)
    #: Purchase model for CLV and P(alive); None skips the value models.
    model: str | None = "mbgnbd"
    #: Models fitted earlier (:func:`crmkit.load_model`): score with them instead of fitting.
    fitted: FittedModels | None = None
    horizon: str = "12m"
    #: Margin rate for CLV; None: from a cost or margin column, else 1 (revenue).
    margin: float | None = None
    discount_rate: float = 0.10
    #: False: when the data cannot support the value model (nobody bought twice yet), score everything else and
    #: say so in the warnings. True (``crmkit value``): stop, since the model is the point.
    model_required: bool = False
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)
    churn: ChurnBands = field(default_factory=ChurnBands)
    #: Next-action rules, first match wins (tier × lifecycle stage × churn band).
    actions: ActionRules = field(default_factory=ActionRules)
    #: Weights of the delivered-value components (default 1 each).
    delivered_weights: Mapping[str, float] = field(default_factory=dict)
    #: Roll customers up by this column (salesperson, region, or any customer column).
    group_by: str | None = None
    #: The at-risk list keeps this tier and better (platinum, gold, iron); None keeps every tier.
    at_risk_min_tier: str | None = None
    #: What may leave the team: attribute columns, pseudonymised ids.
    sharing: Sharing = field(default_factory=Sharing)
    #: Retention is counted per month, quarter or year.
    retention_period: str = "month"
    #: The retention what-if raises retention by this many percentage points.
    what_if: float = 5.0
    #: Market baskets and cross-selling, run when the transactions have the item column; None skips them.
    basket: BasketOptions | None = field(default_factory=BasketOptions)
    #: False: without an item column (or when mining is refused) score everything else and say so.
    #: True (``crmkit basket``): stop, since the baskets are the point.
    basket_required: bool = False

    def __post_init__(self) -> None:
        _choose("time_unit", self.time_unit, tuple(TIME_UNIT_DAYS))
        _choose("rfm_scheme", self.rfm_scheme, RFM_SCHEMES)
        if self.tier_by is not None:
            _choose("tier_by", self.tier_by, TIER_BY)
        _choose("retention_period", self.retention_period, PERIODS)
        if isinstance(self.what_if, bool) or not isinstance(self.what_if, int | float) or not 0 <= self.what_if <= 100:
            raise OptionError(f"what_if must be a number of percentage points from 0 to 100, got {self.what_if!r}")
        if self.model is not None:
            _choose("model", self.model, MODEL_NAMES)
        if self.at_risk_min_tier is not None:
            _choose("at_risk_min_tier", self.at_risk_min_tier, RANKED_TIERS)
        if isinstance(self.discount_rate, bool) or not isinstance(self.discount_rate, int | float):
            raise OptionError(f"discount_rate must be a number such as 0.10, got {self.discount_rate!r}")
        if self.fitted is not None and self.fitted.time_unit != self.time_unit:
            raise OptionError(
                f"the fitted model's parameters are in {self.fitted.time_unit}s, but time_unit is {self.time_unit!r}",
                hint=f"score with time_unit={self.fitted.time_unit!r}, or fit the model again in {self.time_unit}s",
            )


def _choose(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


def options_from(config: Mapping[str, Mapping[str, Any]], **given: Any) -> ScoreOptions:
    """ScoreOptions from the caller's values (``None`` = not given), else crmkit.toml's tables, else defaults.

    ``given`` takes the fields of :class:`ScoreOptions`, plus ``tier_mode`` and ``tier_cuts`` (the two halves
    of the tier rule), ``no_model`` (skip the value models whatever the config says) and the fields of
    :class:`~crmkit.scoring.basket.BasketOptions` (the ``[basket]`` table). Rates and shares may be written as text
    (``"10%"``); a value out of range is refused naming where it came from (the parameter, or the crmkit.toml
    entry) and, for a likely slip such as a discount rate of 10, the fix.
    """

    def pick(section: str, key: str, name: str, default: Any) -> tuple[Any, str]:
        value = given.pop(name, None)
        if value is not None:
            return value, name
        table = config.get(section, {})
        return (table[key], f"[{section}] {key} in crmkit.toml") if key in table else (default, name)

    check_config(config)
    default = ScoreOptions()
    no_model = bool(given.pop("no_model", False))
    mode, _ = pick("tiers", "mode", "tier_mode", "rank")
    cuts, cuts_source = pick("tiers", "cuts", "tier_cuts", None)
    if cuts is None:
        cuts = DEFAULT_SHARE_CUTS if mode == "share" else (TierRule.platinum, TierRule.gold)
    platinum, gold = checks.tier_cuts(cuts, name=cuts_source)
    horizon, horizon_source = pick("value", "horizon", "horizon", default.horizon)
    checks.horizon_days(parse_horizon(str(horizon), "day"), name=horizon_source, text=str(horizon))
    margin, margin_source = pick("value", "margin", "margin", default.margin)
    rate, rate_source = pick("value", "discount_rate", "discount_rate", default.discount_rate)
    model, _ = pick("value", "model", "model", default.model)
    chosen = {
        "rfm_scheme": pick("rfm", "scheme", "rfm_scheme", default.rfm_scheme)[0],
        "tier_by": pick("tiers", "by", "tier_by", default.tier_by)[0],
        "model": None if no_model else model,
        "horizon": str(horizon),
        "margin": None if margin is None else checks.margin(margin, name=margin_source),
        "discount_rate": checks.discount_rate(rate, name=rate_source),
        "retention_period": pick("retention", "period", "retention_period", default.retention_period)[0],
        "what_if": pick("retention", "what_if", "what_if", default.what_if)[0],
    }
    basket = BasketOptions()
    chosen["basket"] = BasketOptions(
        **{name: pick("basket", key, name, getattr(basket, name))[0] for key, name in BASKET_KEYS.items()}
    )
    return ScoreOptions(
        tiers=TierRule(mode=mode, platinum=platinum, gold=gold),
        lifecycle=rules_from_config(config.get("lifecycle", {})),
        churn=bands_from_config(config.get("churn", {})),
        actions=actions_from_config(config.get("actions", {})),
        delivered_weights=dict(config.get("delivered_value", {})),
        **chosen,
        **{name: value for name, value in given.items() if value is not None},
    )
