"""crmkit.toml's tables and keys: one registry, checked in one place."""

from __future__ import annotations

from dataclasses import fields

import pytest

from crmkit.errors import OptionError
from crmkit.ingest.status import StatusRules
from crmkit.pipeline import options_from
from crmkit.scoring.churn import ChurnBands
from crmkit.scoring.lifecycle import LifecycleRules
from crmkit.settings import CONFIG_TABLES, check_config


def test_config_tables_list_the_fields_of_their_settings():
    """[lifecycle] and [churn] lay over dataclasses: the keys crmkit.toml may hold are exactly their fields."""
    assert CONFIG_TABLES["lifecycle"] == tuple(f.name for f in fields(LifecycleRules))
    assert CONFIG_TABLES["churn"] == tuple(f.name for f in fields(ChurnBands))
    assert CONFIG_TABLES["status"] == tuple(f.name for f in fields(StatusRules))


@pytest.mark.parametrize("section", [name for name, keys in CONFIG_TABLES.items() if keys is not None])
def test_every_table_refuses_an_unknown_key(section):
    with pytest.raises(OptionError, match=rf"unknown \[{section}\] setting\(s\) typo; valid: "):
        check_config({section: {"typo": 1}})


def test_a_config_given_to_the_library_is_checked_too():
    with pytest.raises(OptionError, match=r"unknown \[value\] setting\(s\) discount"):
        options_from({"value": {"discount": 0.1}})


def test_command_line_values_win_over_the_config_which_wins_over_defaults():
    config = {"value": {"model": "pareto", "horizon": "6m"}, "tiers": {"cuts": [10, 20]}, "churn": {"high": 0.7}}
    options = options_from(config, model="bgnbd", tier_mode=None)
    assert (options.model, options.horizon, options.discount_rate) == ("bgnbd", "6m", 0.10)
    assert (options.tiers.platinum, options.tiers.gold) == (10, 20) and options.churn.high == 0.7
    assert options_from(config, no_model=True).model is None
