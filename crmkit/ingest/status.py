"""Order statuses that are not revenue: cancelled, unpaid and refunded orders, in English and Chinese.

The lists are data: a ``[status]`` table in crmkit.toml replaces any of them. A status is compared case-,
width- and punctuation-insensitively ('Partially Refunded' == 'partially_refunded'); statuses in no list
(paid, partially_refunded, 交易成功, 卖家已发货 …) are revenue, net of their refunds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.ingest.columns import normalise_header
from crmkit.settings import config_hint, with_config

#: Why an order is excluded, in the order the lists are checked.
STATUS_CATEGORIES = ("cancelled", "unpaid", "refunded")


@dataclass(frozen=True)
class StatusRules:
    """Status values that exclude an order, by category. "closed" is not in the English list: some systems
    (Shopify's order status among them) close an order when it is complete."""

    cancelled: tuple[str, ...] = (
        "cancelled",
        "canceled",
        "voided",
        "void",
        "expired",
        "failed",
        "declined",
        "交易关闭",
        "交易自动关闭",
        "已关闭",
        "已取消",
        "取消",
        "已作废",
        "作废",
        "交易失败",
    )
    unpaid: tuple[str, ...] = (
        "pending",
        "unpaid",
        "authorized",
        "awaiting payment",
        "等待买家付款",
        "待付款",
        "未付款",
        "待支付",
        "未支付",
    )
    refunded: tuple[str, ...] = ("refunded", "fully refunded", "已退款", "全额退款", "退款成功", "退款完成")

    def __post_init__(self) -> None:
        for item in fields(self):
            values = getattr(self, item.name)
            if isinstance(values, str) or not all(isinstance(v, str) for v in values):
                raise OptionError(
                    f"[status] {item.name} must be a list of status texts, got {values!r}",
                    hint=config_hint("status"),
                )
            object.__setattr__(self, item.name, tuple(values))

    @classmethod
    def from_config(cls, table: Mapping[str, object]) -> StatusRules:
        """The defaults with the ``[status]`` table's lists in their place (a single text is a list of one)."""
        return with_config(cls(), {key: [v] if isinstance(v, str) else v for key, v in table.items()}, "status")

    def categories(self, statuses: pd.Series) -> np.ndarray:
        """Per row: the position in :data:`STATUS_CATEGORIES` of the list its status is in, −1 when none (or no
        status). Looked up once per distinct status."""
        lookup = {
            normalise_header(value): i for i, name in enumerate(STATUS_CATEGORIES) for value in getattr(self, name)
        }
        codes, uniques = pd.factorize(statuses, use_na_sentinel=True)
        found = np.array([lookup.get(normalise_header(u), -1) for u in uniques] + [-1], dtype=np.int8)
        return found[codes]
