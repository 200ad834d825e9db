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
from crmkit.pipeline.privacy import Sharing
from crmkit.schema import TIME_UNIT_DAYS
from crmkit.scoring.basket import CONFIG_KEYS as BASKET_KEYS
from crmkit.scoring.basket import BasketOptions
from crmkit.scoring.churn import RANKED_TIERS, ChurnBands, bands_from_config
from crmkit.scoring.lifecycle import LifecycleRules, rules_from_config
from crmkit.scoring.rfm import RFM_SCHEMES
from crmkit.scoring.tiers import DEFAULT_SHARE_CUTS, TierRule
from crmkit.scoring.value import FittedModels
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
    tier_by: str = "revenue"
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
    #: Weights of the delivered-value components (default 1 each).
    delivered_weights: Mapping[str, float] = field(default_factory=dict)
    #: Roll customers up by this column (salesperson, region, or any customer column).
    group_by: str | None = None
    #: The at-risk list keeps this tier and better (platinum, gold, iron); None keeps every tier.
    at_risk_min_tier: str | None = None
    #: What may leave the team: attribute columns, pseudonymised ids.
    sharing: Sharing = field(default_factory=Sharing)
    #: Market baskets and cross-selling, run when the transactions have the item column; None skips them.
    basket: BasketOptions | None = field(default_factory=BasketOptions)
    #: False: without an item column (or when mining is refused) score everything else and say so.
    #: True (``crmkit basket``): stop, since the baskets are the point.
    basket_required: bool = False

    def __post_init__(self) -> None:
        _choose("time_unit", self.time_unit, tuple(TIME_UNIT_DAYS))
        _choose("rfm_scheme", self.rfm_scheme, RFM_SCHEMES)
        _choose("tier_by", self.tier_by, TIER_BY)
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
    :class:`~crmkit.scoring.basket.BasketOptions` (the ``[basket]`` table).
    """

    def pick(section: str, key: str, name: str, default: Any) -> Any:
        value = given.pop(name, None)
        return value if value is not None else config.get(section, {}).get(key, default)

    check_config(config)
    default = ScoreOptions()
    no_model = bool(given.pop("no_model", False))
    tiers = tier_rule(pick("tiers", "mode", "tier_mode", "rank"), pick("tiers", "cuts", "tier_cuts", None))
    chosen = {
        "rfm_scheme": pick("rfm", "scheme", "rfm_scheme", default.rfm_scheme),
        "tier_by": pick("tiers", "by", "tier_by", default.tier_by),
        "model": None if no_model else pick("value", "model", "model", default.model),
        "horizon": pick("value", "horizon", "horizon", default.horizon),
        "margin": pick("value", "margin", "margin", default.margin),
        "discount_rate": pick("value", "discount_rate", "discount_rate", default.discount_rate),
    }
    basket = BasketOptions()
    chosen["basket"] = BasketOptions(
        **{name: pick("basket", key, name, getattr(basket, name)) for key, name in BASKET_KEYS.items()}
    )
    return ScoreOptions(
        tiers=tiers,
        lifecycle=rules_from_config(config.get("lifecycle", {})),
        churn=bands_from_config(config.get("churn", {})),
        delivered_weights=dict(config.get("delivered_value", {})),
        **chosen,
        **{name: value for name, value in given.items() if value is not None},
    )


def tier_rule(mode: str, cuts: Any) -> TierRule:
    """The tier rule from a mode and two cut-offs (a list, or text like ``5,15``; None: the mode's defaults)."""
    if cuts is None:
        cuts = DEFAULT_SHARE_CUTS if mode == "share" else (TierRule.platinum, TierRule.gold)
    if isinstance(cuts, str):
        try:
            cuts = [float(part) for part in cuts.split(",")]
        except ValueError:
            raise OptionError(f"tier_cuts {cuts!r} must be two numbers like 5,15") from None
    if not isinstance(cuts, list | tuple) or len(cuts) != 2:
        raise OptionError(f"tier_cuts needs two numbers (platinum, gold), got {cuts!r}")
    return TierRule(mode=mode, platinum=float(cuts[0]), gold=float(cuts[1]))
