"""Snapshot comparison: how customers moved between tiers and lifecycle stages from one period to the next.

Two scored customer tables (e.g. last month's and this month's) go in; the
migration matrices and the lists of who fell and who rose come out. A customer
found in only one snapshot is ``absent`` in the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID, STAGES, TIERS

ABSENT = "absent"
#: Row and column order of the migration matrices.
TIER_ORDER = (*TIERS, ABSENT)
STAGE_ORDER = (*STAGES, ABSENT)
TOP_TIERS = ("platinum", "gold")
SLIPPING_STAGES = ("decline", "termination")
#: Columns of :attr:`Comparison.fell` and :attr:`Comparison.rose`.
MOVER_COLUMNS = (
    CUSTOMER_ID,
    "tier_before",
    "tier_after",
    "stage_before",
    "stage_after",
    "value_before",
    "value_after",
    "reason",
)


@dataclass(frozen=True)
class Comparison:
    """Tier and stage migrations between two snapshots, with who fell and who rose.

    Matrices have the old tier/stage as rows (``from``) and the new one as
    columns (``to``), in canonical order with ``absent`` last. The value
    matrices sum the new value of each cell's customers; customers who left
    (``to`` = absent) count the value they had before, i.e. what left with them.
    """

    tier_migration: pd.DataFrame
    tier_migration_value: pd.DataFrame
    stage_migration: pd.DataFrame
    stage_migration_value: pd.DataFrame
    fell: pd.DataFrame
    rose: pd.DataFrame

    def to_json(self) -> dict:
        """Counts per from → to, and the ids who fell and rose, as plain ints and strings."""
        return {
            "tier_migration": _matrix_json(self.tier_migration),
            "stage_migration": _matrix_json(self.stage_migration),
            "fell": self.fell[CUSTOMER_ID].astype("str").tolist(),
            "rose": self.rose[CUSTOMER_ID].astype("str").tolist(),
        }


def compare_snapshots(old: pd.DataFrame, new: pd.DataFrame, *, value: str = "total_revenue") -> Comparison:
    """Compare two customer tables with *customer_id, tier, lifecycle_stage* and the ``value`` column.

    ``fell``: customers who were platinum or gold and are now in a lower tier
    (or absent), or who moved into decline or termination from a healthier stage
    (or from decline into termination);
    sorted by value before, largest first. ``rose``: customers now platinum or
    gold who were in a lower tier (or absent); sorted by value after. Both with
    :data:`MOVER_COLUMNS`; ``reason`` says what changed, e.g. ``tier gold → iron``.
    """
    for name, frame in (("old", old), ("new", new)):
        missing = [c for c in (CUSTOMER_ID, "tier", "lifecycle_stage", value) if c not in frame.columns]
        if missing:
            raise OptionError(f"the {name} snapshot lacks column(s) {', '.join(missing)}")
    pairs = _pairs(old, new, value)

    tier_from, tier_to = pairs["tier_before"], pairs["tier_after"]
    stage_from, stage_to = pairs["stage_before"], pairs["stage_after"]
    # Value per cell: the new value, or for customers who left the value they took with them.
    cell_value = pairs["value_after"].where(tier_to != ABSENT, pairs["value_before"])

    tier_rank = {tier: rank for rank, tier in enumerate(TIER_ORDER)}
    rank_before, rank_after = tier_from.map(tier_rank), tier_to.map(tier_rank)
    tier_fell = tier_from.isin(TOP_TIERS) & (rank_after > rank_before)
    # Into decline or termination from a healthier stage (termination → decline is a customer coming back).
    stage_fell = (stage_to.isin(SLIPPING_STAGES) & ~stage_from.isin(SLIPPING_STAGES) & (stage_from != ABSENT)) | (
        (stage_to == "termination") & (stage_from == "decline")
    )
    tier_rose = tier_to.isin(TOP_TIERS) & (rank_after < rank_before)

    tier_reason = "tier " + tier_from + " → " + tier_to
    stage_reason = "stage " + stage_from + " → " + stage_to
    fell = pairs.assign(reason=_join(tier_reason.where(tier_fell), stage_reason.where(stage_fell)))
    fell = fell.loc[tier_fell | stage_fell].sort_values(
        ["value_before", CUSTOMER_ID], ascending=[False, True], kind="stable", ignore_index=True
    )
    rose = (
        pairs.assign(reason=tier_reason)
        .loc[tier_rose]
        .sort_values(["value_after", CUSTOMER_ID], ascending=[False, True], kind="stable", ignore_index=True)
    )
    return Comparison(
        tier_migration=_matrix(tier_from, tier_to, None, TIER_ORDER),
        tier_migration_value=_matrix(tier_from, tier_to, cell_value, TIER_ORDER),
        stage_migration=_matrix(stage_from, stage_to, None, STAGE_ORDER),
        stage_migration_value=_matrix(stage_from, stage_to, cell_value, STAGE_ORDER),
        fell=fell[list(MOVER_COLUMNS)],
        rose=rose[list(MOVER_COLUMNS)],
    )


def _pairs(old: pd.DataFrame, new: pd.DataFrame, value: str) -> pd.DataFrame:
    """One row per customer in either snapshot: tier, stage and value before and after (absent / 0 if missing)."""
    columns = {"tier": "tier", "lifecycle_stage": "stage", value: "value"}

    def side(frame: pd.DataFrame, suffix: str) -> pd.DataFrame:
        out = frame[[CUSTOMER_ID, *columns]].rename(columns={k: f"{v}_{suffix}" for k, v in columns.items()})
        return out.astype({CUSTOMER_ID: "str"})

    pairs = side(old, "before").merge(side(new, "after"), on=CUSTOMER_ID, how="outer", validate="one_to_one", sort=True)
    for suffix in ("before", "after"):
        pairs[f"tier_{suffix}"] = pairs[f"tier_{suffix}"].astype("str").fillna(ABSENT)
        pairs[f"stage_{suffix}"] = pairs[f"stage_{suffix}"].astype("str").fillna(ABSENT)
        pairs[f"value_{suffix}"] = pairs[f"value_{suffix}"].astype(np.float64).fillna(0.0)
    return pairs


def _join(first: pd.Series, second: pd.Series) -> pd.Series:
    """Join two optional reasons with "; ", skipping missing ones."""
    both = first + "; " + second
    return both.fillna(first).fillna(second)


def _matrix(before: pd.Series, after: pd.Series, weights: pd.Series | None, order: tuple[str, ...]) -> pd.DataFrame:
    """Counts (or summed weights) per before → after, every category of ``order`` on both axes."""
    frame = pd.DataFrame({"from": before, "to": after, "w": 1.0 if weights is None else weights})
    matrix = frame.groupby(["from", "to"])["w"].sum().unstack(fill_value=0)
    matrix = matrix.reindex(index=list(order), columns=list(order), fill_value=0.0)
    matrix = matrix.astype(np.int64) if weights is None else matrix.astype(np.float64)
    matrix.index.name, matrix.columns.name = "from", "to"
    return matrix


def _matrix_json(matrix: pd.DataFrame) -> dict:
    values = matrix.to_numpy(dtype=np.int64)
    return {
        str(row): dict(zip(map(str, matrix.columns), map(int, counts))) for row, counts in zip(matrix.index, values)
    }
