"""Per-group rollups: hand-computed groups, totals that add up, and the column check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.errors import OptionError
from crmkit.scoring.rollup import ROLLUP_COLUMNS, rollup

ROWS = [
    # customer_id, salesperson, tier, lifecycle_stage, total_revenue, value_at_risk
    ("01", "Li", "platinum", "maturity", 1000.0, 10.0),
    ("02", "Li", "gold", "decline", 500.0, 100.0),
    ("03", "Li", "iron", "termination", 50.0, 40.0),
    ("04", "Wang", "gold", "growth", 700.0, 5.0),
    ("05", "Wang", "iron", "decline", -20.0, 2.0),  # net returns
    ("06", None, "iron", "maturity", 30.0, 1.0),
    ("07", "  ", "iron", "maturity", 20.0, 0.0),  # blank: no salesperson either
    ("08", "Li", "prospect", "acquisition", np.nan, np.nan),  # never bought: left out
    *[(f"1{i}", "Zhao", "iron", "growth", 10.0 * (i + 1), np.nan) for i in range(7)],
]


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        ROWS, columns=["customer_id", "salesperson", "tier", "lifecycle_stage", "total_revenue", "value_at_risk"]
    ).assign(r_score=3, last_purchase=pd.Timestamp("2024-01-01"))


class TestRollup:
    def test_hand_computed_groups(self):
        out = rollup(_customers(), "salesperson")
        assert list(out.columns) == ["salesperson", *ROLLUP_COLUMNS]
        assert list(out["salesperson"]) == ["Li", "Wang", "Zhao", "(none)"]  # by revenue
        rows = out.set_index("salesperson")
        assert rows.loc["Li"].to_dict() == {
            "customers": 3,
            "revenue": 1550.0,
            "revenue_share": 1550 / 2560,
            "platinum": 1,
            "gold": 1,
            "at_risk": 2,
            "value_at_risk": 150.0,
            "top5_share": 1.0,
        }
        assert rows.at["Wang", "revenue"] == 680 and rows.at["Wang", "top5_share"] == 1.0  # returns count as 0
        assert rows.at["Zhao", "customers"] == 7 and rows.at["Zhao", "value_at_risk"] == 0
        assert rows.at["Zhao", "top5_share"] == pytest.approx(250 / 280)  # 70 + 60 + 50 + 40 + 30
        assert rows.at["(none)", "customers"] == 2 and rows.at["(none)", "revenue"] == 50

    def test_sums_to_the_totals(self):
        customers = _customers()
        buyers = customers[customers["tier"] != "prospect"]
        for by in ("salesperson", "tier", "lifecycle_stage", "r_score"):
            out = rollup(customers, by)
            assert out["customers"].sum() == len(buyers)
            assert out["revenue"].sum() == pytest.approx(buyers["total_revenue"].sum())
            assert out["revenue_share"].sum() == pytest.approx(1.0)
            assert out["platinum"].sum() == 1 and out["gold"].sum() == 2 and out["at_risk"].sum() == 3
            assert out["value_at_risk"].sum() == pytest.approx(158.0)

    def test_ties_in_revenue_sort_by_group_name(self):
        customers = pd.DataFrame(
            {
                "customer_id": ["1", "2", "3"],
                "region": ["b", "c", "a"],
                "tier": ["iron"] * 3,
                "lifecycle_stage": ["maturity"] * 3,
                "total_revenue": [5.0, 9.0, 5.0],
                "value_at_risk": [0.0] * 3,
            }
        )
        assert list(rollup(customers, "region")["region"]) == ["c", "a", "b"]

    def test_group_without_positive_revenue_has_no_top5_share(self):
        customers = pd.DataFrame(
            {
                "customer_id": ["1", "2"],
                "region": ["a", "b"],
                "tier": ["iron"] * 2,
                "lifecycle_stage": ["maturity"] * 2,
                "total_revenue": [5.0, -3.0],
                "value_at_risk": [0.0] * 2,
            }
        )
        shares = rollup(customers, "region").set_index("region")["top5_share"]
        assert shares["a"] == 1.0 and np.isnan(shares["b"])

    def test_unknown_or_numeric_column_lists_the_usable_ones(self):
        with pytest.raises(OptionError, match="cannot group by 'region'") as error:
            rollup(_customers(), "region")
        assert "salesperson, tier, lifecycle_stage, r_score" in str(error.value)
        with pytest.raises(OptionError, match="cannot group by 'total_revenue'"):
            rollup(_customers(), "total_revenue")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["x", "y", "z", None]),
            st.sampled_from(["platinum", "gold", "iron"]),
            st.sampled_from(["growth", "decline", "termination"]),
            st.floats(-100, 1000, allow_nan=False),
            st.floats(0, 100, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_any_rollup_adds_up(rows):
    customers = pd.DataFrame(rows, columns=["region", "tier", "lifecycle_stage", "total_revenue", "value_at_risk"])
    customers.insert(0, "customer_id", [str(i) for i in range(len(rows))])
    out = rollup(customers, "region")
    assert out["customers"].sum() == len(rows)
    assert out["revenue"].sum() == pytest.approx(customers["total_revenue"].sum(), abs=1e-6)
    assert out["value_at_risk"].sum() == pytest.approx(customers["value_at_risk"].sum(), abs=1e-6)
    assert out["at_risk"].sum() == customers["lifecycle_stage"].isin(["decline", "termination"]).sum()
    share = out["top5_share"]
    assert out["region"].is_unique and (share.isna() | ((share > 0) & (share <= 1))).all()
    assert (np.diff(out["revenue"].to_numpy()) <= 1e-9).all()
