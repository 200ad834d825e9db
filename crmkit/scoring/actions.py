"""The next action per customer: one word a sales manager reads, from tier × lifecycle stage × churn risk.

RFM segments rank a customer against the other customers; lifecycle stages measure them against their own
rhythm; churn risk says how likely they have gone. A "Champions" customer can therefore be in decline, and
the next action settles what to do about it in one word (:data:`~crmkit.schema.ACTIONS`).

The rules are data: an ordered list, the first rule that matches wins. Each names an action and the tiers,
stages and churn bands it applies to; a condition left out matches everyone. The ``[actions]`` table of
crmkit.toml replaces the whole list (``rules = [{action = "win_back", tiers = ["platinum"], ...}, ...]``), and
its last rule must have no conditions, so that every customer gets an action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import ACTIONS, CHURN_BANDS, STAGES, TIERS, vocabulary_column
from crmkit.settings import check_table, config_hint

_HINT = config_hint("actions")
#: The conditions of a rule: its key in crmkit.toml, the customer column it tests and the values it may name.
CONDITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tiers": ("tier", TIERS),
    "stages": ("lifecycle_stage", STAGES),
    "bands": ("churn_band", CHURN_BANDS),
}


@dataclass(frozen=True)
class ActionRule:
    """One rule: ``action`` for customers in any of ``tiers``, any of ``stages`` and any of ``bands``
    (an empty condition matches everyone)."""

    action: str
    tiers: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise OptionError(
                f"[actions] unknown action {self.action!r}; choose one of {', '.join(ACTIONS)}", hint=_HINT
            )
        for key, (_, vocabulary) in CONDITIONS.items():
            unknown = [value for value in getattr(self, key) if value not in vocabulary]
            if unknown:
                raise OptionError(
                    f"[actions] unknown {key} {', '.join(map(repr, unknown))} in the {self.action} rule; "
                    f"choose from {', '.join(vocabulary)}",
                    hint=_HINT,
                )

    @property
    def matches_everyone(self) -> bool:
        return not (self.tiers or self.stages or self.bands)


#: The default rules: key accounts who have left are won back, others who have left let go; customers who
#: are slipping (declining, or at medium or high churn risk) retained; new and growing ones developed; the
#: steady rest maintained.
DEFAULT_ACTION_RULES = (
    ActionRule("win_back", tiers=("platinum", "gold"), stages=("termination",)),
    ActionRule("let_go", stages=("termination",)),
    ActionRule("retain", stages=("decline",)),
    ActionRule("retain", bands=("medium", "high")),
    ActionRule("develop", stages=("acquisition", "growth")),
    ActionRule("maintain"),
)


@dataclass(frozen=True)
class ActionRules:
    """The ordered next-action rules; the first that matches a customer wins, the last matches everyone."""

    rules: tuple[ActionRule, ...] = field(default=DEFAULT_ACTION_RULES)

    def __post_init__(self) -> None:
        if not self.rules or not self.rules[-1].matches_everyone:
            raise OptionError(
                "[actions] the last rule must have no tiers, stages or bands, so that every customer gets an "
                'action: end the list with e.g. { action = "maintain" }',
                hint=_HINT,
            )


DEFAULT_ACTIONS = ActionRules()


def rules_from_config(config: Mapping[str, Any]) -> ActionRules:
    """The ``[actions]`` table's rules (``rules = [{action = …, tiers = […], stages = […], bands = […]}, …]``),
    or the defaults without one; unknown keys, actions and values raise."""
    check_table("actions", config)
    if "rules" not in config:
        return DEFAULT_ACTIONS
    items = config["rules"]
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise OptionError('[actions] rules must be a list of tables like { action = "retain" }', hint=_HINT)
    return ActionRules(tuple(_rule(item) for item in items))


def _rule(item: Any) -> ActionRule:
    if not isinstance(item, Mapping) or "action" not in item:
        raise OptionError(f"[actions] each rule is a table with an action, got {item!r}", hint=_HINT)
    unknown = sorted(set(item) - {"action", *CONDITIONS})
    if unknown:
        raise OptionError(
            f"[actions] unknown rule key(s) {', '.join(unknown)}; valid: action, {', '.join(CONDITIONS)}", hint=_HINT
        )
    values = {key: _names(key, item.get(key, ())) for key in CONDITIONS}
    return ActionRule(str(item["action"]), **values)


def _names(key: str, value: Any) -> tuple[str, ...]:
    """A condition as a tuple of names: a list of them, or one name."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise OptionError(f"[actions] {key} must be a list of names, got {value!r}", hint=_HINT)


def next_actions(table: pd.DataFrame, rules: ActionRules = DEFAULT_ACTIONS) -> pd.Categorical:
    """One action per row of the customer table, by the first matching rule (:data:`~crmkit.schema.ACTIONS`).

    Needs *tier, lifecycle_stage, churn_band* (prospects have no band: only rules without bands match them).
    There are only 4 × 5 × 3 combinations (and missing values): the rules are decided once per combination,
    and each customer looks theirs up by code, so millions of customers take milliseconds.
    """
    vocabularies = [(*vocabulary, None) for _, vocabulary in CONDITIONS.values()]
    combination = np.zeros(len(table), dtype=np.int16)  # fewer than 200 combinations
    for (column, vocabulary), values in zip(CONDITIONS.values(), vocabularies):
        slot = pd.Categorical(table[column], categories=list(vocabulary)).codes.astype(np.int16)
        slot[slot < 0] = len(vocabulary)  # missing: the last slot
        combination *= len(values)
        combination += slot
    decided = np.array([_first_match(rules, dict(zip(CONDITIONS, values))) for values in product(*vocabularies)])
    return vocabulary_column(decided[combination], ACTIONS)


def _first_match(rules: ActionRules, customer: Mapping[str, str | None]) -> int:
    """Position in ACTIONS of the first rule matching one (tiers, stages, bands) combination."""
    for rule in rules.rules:
        if all(not getattr(rule, key) or value in getattr(rule, key) for key, value in customer.items()):
            return ACTIONS.index(rule.action)
    return -1  # unreachable: the last rule matches everyone
