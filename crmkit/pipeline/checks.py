"""Option values checked where they are settled (:func:`crmkit.pipeline.options_from`): ranges, percentages
written as text, and the likely fix in the message. A value out of range is refused, never quietly used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from crmkit.errors import OptionError

#: The longest CLV horizon: beyond ten years neither the purchase models nor a discount rate mean much.
MAX_HORIZON_DAYS: Final = 3653


def share(value: Any, *, name: str, per: str, example: float, one_allowed: bool) -> float:
    """A rate or share from 0 to 1 (1 itself only when ``one_allowed``), written 0.10, "0.10" or "10%".

    A bigger number is most often a percentage typed without the %: the message suggests it divided by 100.
    """
    text = value.strip() if isinstance(value, str) else None
    try:
        number = (
            float(text.removesuffix("%")) / (100 if text.endswith("%") else 1) if text is not None else float(value)
        )
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number such as {example:.2f} or {example:.0%}, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise OptionError(f"{name} must be a number from 0 to 1, such as {example:.2f}, got {value!r}")
    if number > 1 or (number == 1 and not one_allowed):
        raise OptionError(
            f"{name} {value} means {number:.0%} {per}; did you mean {number / 100:.2f}?",
            hint=f"write a share such as {example:.2f}, or a percentage such as {example:.0%}",
        )
    return number


def discount_rate(value: Any, *, name: str) -> float:
    """An annual discount rate: from 0 (no discounting) to below 1 (100% a year)."""
    return share(value, name=name, per="a year", example=0.10, one_allowed=False)


def margin(value: Any, *, name: str) -> float:
    """A margin rate: a share of revenue from 0 to 1."""
    return share(value, name=name, per="of revenue", example=0.30, one_allowed=True)


def tier_cuts(value: Any, *, name: str) -> tuple[float, float]:
    """Platinum and gold cut-offs in percent: "5,15", "5%,15%" or [5, 15], finite numbers."""
    parts: Sequence[Any]
    if isinstance(value, str):
        parts = [part.strip().removesuffix("%") for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        raise OptionError(f"{name} must be two numbers like 5,15, got {value!r}")
    try:
        cuts = [float(part) for part in parts]
    except (TypeError, ValueError):
        raise OptionError(f"{name} {value!r} must be two numbers like 5,15") from None
    if len(cuts) != 2:
        raise OptionError(f"{name} needs two numbers (platinum, gold), got {value!r}")
    if not all(math.isfinite(cut) for cut in cuts):
        raise OptionError(f"{name} {value!r} must be two finite numbers like 5,15")
    return cuts[0], cuts[1]


def horizon_days(days: float, *, name: str, text: str) -> None:
    """Refuse a CLV horizon longer than :data:`MAX_HORIZON_DAYS`."""
    if days > MAX_HORIZON_DAYS:
        raise OptionError(
            f"{name} {text} is longer than crmkit's limit of 10 years", hint="use at most 10y (120m, 521w, 3653d)"
        )
