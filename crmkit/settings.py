"""A table of crmkit.toml on top of a frozen settings dataclass: [lifecycle] rules, [churn] bands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, TypeVar

from crmkit.errors import OptionError

Settings = TypeVar("Settings")


def with_config(defaults: Settings, config: Mapping[str, object], section: str) -> Settings:
    """``defaults`` with the ``[section]`` table's values on top.

    Unknown keys are errors naming the valid ones; numbers written as text ("0.3") are read as numbers; the
    dataclass checks every value itself.
    """
    hint = config_hint(section)
    valid = [item.name for item in fields(defaults)]
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise OptionError(f"unknown [{section}] setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}", hint=hint)
    return replace(defaults, **{key: _numeric_text(section, key, value) for key, value in config.items()})


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
