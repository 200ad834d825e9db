"""The next action: one word per customer from tier × stage × churn band, by rules that are data."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.datasets.sample import simulate_sales
from crmkit.errors import OptionError
from crmkit.output.labels import explain_actions
from crmkit.pipeline import options_from
from crmkit.schema import ACTIONS, CHURN_BANDS, STAGES, TIERS
from crmkit.scoring.actions import DEFAULT_ACTIONS, ActionRule, next_actions, rules_from_config


def _table(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    tier, stage, band = zip(*rows)
    return pd.DataFrame(
        {
            "tier": pd.Categorical(tier, categories=TIERS),
            "lifecycle_stage": pd.Categorical(stage, categories=STAGES),
            "churn_band": pd.Categorical(band, categories=CHURN_BANDS),
        }
    )


class TestDefaultRules:
    CASES = (
        (("platinum", "termination", "high"), "win_back"),
        (("gold", "termination", "low"), "win_back"),
        (("iron", "termination", "high"), "let_go"),
        (("platinum", "decline", "low"), "retain"),
        (("iron", "decline", "medium"), "retain"),
        (("gold", "maturity", "medium"), "retain"),  # steady by rhythm, but the model sees a risk
        (("iron", "growth", "high"), "retain"),
        (("gold", "growth", "low"), "develop"),
        (("iron", "acquisition", "low"), "develop"),
        (("prospect", "acquisition", None), "develop"),
        (("platinum", "maturity", "low"), "maintain"),
        (("iron", "maturity", "low"), "maintain"),
    )

    def test_each_combination(self):
        actions = next_actions(_table([case for case, _ in self.CASES]))
        assert list(actions) == [action for _, action in self.CASES]
        assert list(actions.categories) == list(ACTIONS)

    def test_explained_in_order_in_both_languages(self):
        table = explain_actions()
        assert list(table["order"]) == [1, 2, 3, 4, 5, 6]
        assert list(table["action"]) == ["win_back", "let_go", "retain", "retain", "develop", "maintain"]
        assert table.at[0, "rule"] == "tier Platinum or Gold; stage Termination"
        assert table.at[5, "rule"] == "everyone else"
        zh = explain_actions(lang="zh")
        assert zh.at[0, "rule"] == "等级 铂金或黄金；阶段 终止期" and zh.at[3, "rule"] == "流失风险 中或高"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TIERS), st.sampled_from(STAGES), st.none() | st.sampled_from(CHURN_BANDS)),
        min_size=1,
        max_size=40,
    )
)
def test_every_customer_gets_exactly_the_first_matching_action(rows):
    actions = np.asarray(next_actions(_table(rows)), dtype=object)
    assert all(a in ACTIONS for a in actions)
    for (tier, stage, band), action in zip(rows, actions):
        first = next(
            r
            for r in DEFAULT_ACTIONS.rules
            if (not r.tiers or tier in r.tiers)
            and (not r.stages or stage in r.stages)
            and (not r.bands or band in r.bands)
        )
        assert action == first.action


class TestConfig:
    TOML = """
[actions]
rules = [
  { action = "win_back", tiers = ["platinum"], stages = ["decline", "termination"] },
  { action = "retain", bands = "high" },
  { action = "maintain" },
]
"""

    def test_a_toml_table_replaces_the_rules(self):
        config = tomllib.loads(self.TOML)
        rules = options_from(config).actions
        assert rules.rules == (
            ActionRule("win_back", tiers=("platinum",), stages=("decline", "termination")),
            ActionRule("retain", bands=("high",)),
            ActionRule("maintain"),
        )
        table = _table(
            [("platinum", "decline", "low"), ("gold", "termination", "high"), ("gold", "termination", "low")]
        )
        assert list(next_actions(table, rules)) == ["win_back", "retain", "maintain"]

    def test_no_table_gives_the_defaults(self):
        assert options_from({}).actions == DEFAULT_ACTIONS == rules_from_config({"rules": list(_as_config())})

    @pytest.mark.parametrize(
        "rules, message",
        [
            ([{"action": "call"}], "unknown action 'call'; choose one of win_back, retain"),
            ([{"action": "retain", "tiers": ["silver"]}, {"action": "maintain"}], "unknown tiers 'silver'"),
            ([{"action": "retain", "stages": ["dormant"]}, {"action": "maintain"}], "unknown stages 'dormant'"),
            ([{"action": "retain", "bands": ["very high"]}, {"action": "maintain"}], "unknown bands 'very high'"),
            ([{"action": "retain", "band": ["high"]}, {"action": "maintain"}], "unknown rule key\\(s\\) band"),
            ([{"action": "retain", "bands": ["high"]}], "the last rule must have no tiers, stages or bands"),
            ([], "the last rule must have no"),
            ([{"tiers": ["gold"]}], "each rule is a table with an action"),
            ([{"action": "retain", "tiers": [1]}, {"action": "maintain"}], "tiers must be a list of names"),
            ("retain", "rules must be a list"),
        ],
    )
    def test_bad_rules_are_refused_with_the_fix(self, rules, message):
        with pytest.raises(OptionError, match=message) as error:
            rules_from_config({"rules": rules})
        assert "[actions]" in str(error.value) and "crmkit.toml" in error.value.hint

    def test_unknown_key_in_the_table(self):
        with pytest.raises(OptionError, match=r"unknown \[actions\] setting\(s\) rule; valid: rules"):
            options_from({"actions": {"rule": []}})


def _as_config():
    """The default rules written as a crmkit.toml table would hold them."""
    for rule in DEFAULT_ACTIONS.rules:
        item = {"action": rule.action}
        for key in ("tiers", "stages", "bands"):
            if getattr(rule, key):
                item[key] = list(getattr(rule, key))
        yield item


def test_the_library_takes_rules_and_the_pipeline_applies_them():
    tx = simulate_sales(150, seed=4).transactions
    rules = crmkit.ActionRules((crmkit.ActionRule("retain", tiers=("platinum",)), crmkit.ActionRule("maintain")))
    result = crmkit.score(tx, options=crmkit.ScoreOptions(model=None, actions=rules))
    table = result.customers
    assert (table["next_action"] == np.where(table["tier"] == "platinum", "retain", "maintain")).all()
    assert result.action_rules == rules
    counts = {g.name: g.customers for g in result.summary.actions}
    assert counts == {"retain": (table["tier"] == "platinum").sum(), "maintain": (table["tier"] != "platinum").sum()}
