"""Snapshot comparison on two hand-built snapshots where every move is known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmkit.errors import OptionError
from crmkit.scoring.compare import (
    MOVER_COLUMNS,
    STAGE_ORDER,
    TIER_ORDER,
    compare_snapshots,
)


def _snapshot(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "tier", "lifecycle_stage", "total_revenue"])


OLD = _snapshot(
    [
        ("A", "platinum", "maturity", 1000.0),
        ("B", "gold", "growth", 500.0),
        ("C", "iron", "maturity", 100.0),
        ("D", "gold", "decline", 300.0),
        ("E", "platinum", "maturity", 900.0),  # gone from the new snapshot
        ("H", "iron", "maturity", 80.0),
        ("I", "platinum", "decline", 700.0),
        ("J", "prospect", "acquisition", np.nan),
    ]
)
NEW = _snapshot(
    [
        ("J", "prospect", "acquisition", np.nan),
        ("I", "iron", "termination", 710.0),  # fell twice: tier and stage
        ("H", "iron", "decline", 90.0),  # fell: into decline
        ("G", "gold", "acquisition", 200.0),  # new and straight into gold: rose
        ("F", "iron", "acquisition", 50.0),  # new, iron: neither
        ("D", "gold", "termination", 300.0),  # fell: decline → termination
        ("C", "gold", "maturity", 400.0),  # rose
        ("B", "platinum", "growth", 800.0),  # rose
        ("A", "gold", "maturity", 1100.0),  # fell out of platinum
    ]
)


def _cells(matrix: pd.DataFrame) -> dict[tuple[str, str], float]:
    stacked = matrix.stack()
    return {key: value for key, value in stacked.items() if value != 0}


class TestCompare:
    def test_tier_migration_counts_and_values(self):
        result = compare_snapshots(OLD, NEW)
        counts = result.tier_migration
        assert list(counts.index) == list(TIER_ORDER) and list(counts.columns) == list(TIER_ORDER)
        assert counts.index.name == "from" and counts.columns.name == "to"
        assert _cells(counts) == {
            ("platinum", "gold"): 1,
            ("platinum", "iron"): 1,
            ("platinum", "absent"): 1,
            ("gold", "platinum"): 1,
            ("gold", "gold"): 1,
            ("iron", "gold"): 1,
            ("iron", "iron"): 1,
            ("prospect", "prospect"): 1,
            ("absent", "gold"): 1,
            ("absent", "iron"): 1,
        }
        assert counts.to_numpy().sum() == 10  # every customer in either snapshot, once
        # New value per cell; customers who left count what they had (E: 900).
        assert _cells(result.tier_migration_value) == {
            ("platinum", "gold"): 1100,
            ("platinum", "iron"): 710,
            ("platinum", "absent"): 900,
            ("gold", "platinum"): 800,
            ("gold", "gold"): 300,
            ("iron", "gold"): 400,
            ("iron", "iron"): 90,
            ("absent", "gold"): 200,
            ("absent", "iron"): 50,
        }

    def test_stage_migration(self):
        result = compare_snapshots(OLD, NEW)
        assert list(result.stage_migration.columns) == list(STAGE_ORDER)
        assert _cells(result.stage_migration) == {
            ("maturity", "maturity"): 2,
            ("maturity", "decline"): 1,
            ("maturity", "absent"): 1,
            ("growth", "growth"): 1,
            ("decline", "termination"): 2,
            ("acquisition", "acquisition"): 1,
            ("absent", "acquisition"): 2,
        }
        assert result.stage_migration_value.loc["decline", "termination"] == 300 + 710

    def test_who_fell_and_who_rose(self):
        result = compare_snapshots(OLD, NEW)
        fell = result.fell.set_index("customer_id")
        assert list(fell.index) == ["A", "E", "I", "D", "H"]  # by value before, largest first
        assert fell["reason"].to_dict() == {
            "A": "tier platinum → gold",
            "E": "tier platinum → absent",
            "I": "tier platinum → iron; stage decline → termination",
            "D": "stage decline → termination",
            "H": "stage maturity → decline",
        }
        assert fell.loc["E", "value_after"] == 0 and fell.loc["E", "stage_after"] == "absent"
        assert list(result.rose["customer_id"]) == ["B", "C", "G"]  # by value after
        assert list(result.rose["reason"]) == ["tier gold → platinum", "tier iron → gold", "tier absent → gold"]
        assert tuple(result.fell.columns) == MOVER_COLUMNS == tuple(result.rose.columns)

    def test_identical_snapshots_have_no_movers_and_a_diagonal(self):
        result = compare_snapshots(OLD, OLD.iloc[::-1])
        assert result.fell.empty and result.rose.empty
        counts = result.tier_migration
        assert (counts.to_numpy() == np.diag(np.diag(counts.to_numpy()))).all()

    def test_to_json_is_plain(self):
        payload = compare_snapshots(OLD, NEW).to_json()
        assert set(payload) == {"tier_migration", "stage_migration", "fell", "rose"}
        assert payload["tier_migration"]["platinum"]["absent"] == 1
        assert type(payload["stage_migration"]["decline"]["termination"]) is int
        assert payload["fell"] == ["A", "E", "I", "D", "H"] and payload["rose"] == ["B", "C", "G"]
        assert json.loads(json.dumps(payload)) == payload

    def test_other_value_column(self):
        old, new = OLD.assign(clv=OLD["total_revenue"] * 2), NEW.assign(clv=NEW["total_revenue"] * 2)
        result = compare_snapshots(old, new, value="clv")
        assert result.tier_migration_value.loc["gold", "platinum"] == 1600

    def test_missing_column_raises(self):
        with pytest.raises(OptionError, match="new snapshot lacks column\\(s\\) lifecycle_stage"):
            compare_snapshots(OLD, NEW.drop(columns="lifecycle_stage"))


def test_coming_back_from_termination_to_decline_is_not_a_fall():
    old = _snapshot([("K", "iron", "termination", 50.0), ("L", "iron", "maturity", 50.0)])
    new = _snapshot([("K", "iron", "decline", 60.0), ("L", "iron", "termination", 50.0)])
    assert compare_snapshots(old, new).to_json()["fell"] == ["L"]
