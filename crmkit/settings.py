"""crmkit.toml's tables and their keys, checked in one place, and a table laid over a settings dataclass.

Every table and every key a config file may hold is listed in :data:`CONFIG_TABLES`; :func:`check_config`
refuses anything else with the valid names, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from crmkit.errors import OptionError
from crmkit.schema import COST_COMPONENTS, VALUE_COMPONENTS

Settings = TypeVar("Settings")

#: Each table of crmkit.toml and the keys it may hold. ``[columns]`` holds canonical column names, which the
#: ingest layer checks against its header aliases (None here).
CONFIG_TABLES: dict[str, tuple[str, ...] | None] = {
    "columns": None,
    "tiers": ("mode", "cuts", "by"),
    "rfm": ("scheme",),
    "value": ("model", "horizon", "margin", "discount_rate"),
    "lifecycle": (
        "window_days",
        "growth_ratio",
        "decline_ratio",
        "min_purchases_for_trend",
        "overdue_factor",
        "termination_factor",
        "termination_p_alive",
        "one_time_p_alive",
        "one_time_gap_quantile",
        "new_customer_cycle_days",
    ),
    "churn": ("medium", "high"),
    "actions": ("rules",),
    "retention": ("period", "what_if"),
    "output": ("lang",),
    "delivered_value": (*VALUE_COMPONENTS, *COST_COMPONENTS),
    "status": ("cancelled", "unpaid", "refunded"),
    "basket": (
        "by",
        "level",
        "min_support",
        "min_confidence",
        "min_lift",
        "max_len",
        "offers",
        "upsell_below",
        "min_tier",
    ),
}


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse unknown tables, tables that are not tables, and unknown keys in any table."""
    unknown = sorted(set(config) - set(CONFIG_TABLES))
    if unknown:
        raise OptionError(
            f"unknown table(s) [{'], ['.join(unknown)}] in crmkit.toml",
            hint="known tables: " + ", ".join(f"[{name}]" for name in CONFIG_TABLES),
        )
    for section, table in config.items():
        if not isinstance(table, Mapping):
            raise OptionError(f"crmkit.toml: {section} must be a table like [{section}]", hint=config_hint(section))
        check_table(section, table)


def check_table(section: str, table: Mapping[str, Any]) -> None:
    """Refuse keys the ``[section]`` table does not have, naming the valid ones."""
    valid = CONFIG_TABLES.get(section)
    if valid is None:
        return
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise OptionError(
            f"unknown [{section}] setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}",
            hint=config_hint(section),
        )


def with_config(defaults: Settings, config: Mapping[str, object], section: str) -> Settings:
    """``defaults`` (a dataclass) with the ``[section]`` table's values on top.

    Numbers written as text ("0.3") are read as numbers; the dataclass checks every value itself.
    """
    check_table(section, config)
    return replace(defaults, **{key: _numeric_text(section, key, value) for key, value in config.items()})  # type: ignore[type-var]


def config_hint(section: str) -> str:
    """Where to fix a bad ``[section]`` value."""
    return f"fix the [{section}] table in crmkit.toml"


def _numeric_text(section: str, key: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise OptionError(f"[{section}] {key} must be a number, got {value!r}", hint=config_hint(section)) from None
    return value
