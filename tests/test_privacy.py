"""Privacy: master-file attributes only on request; keyed, stable, joinable pseudonyms."""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit.errors import OptionError
from crmkit.pipeline.privacy import pseudonym_map, pseudonymize, without_attributes
from crmkit.pipeline.run import master_attributes

KEY = "secret-key-1"


def test_pseudonym_is_hmac_sha256_of_the_id():
    # hmac.new(b"secret-key-1", b"0000001", hashlib.sha256).hexdigest()[:20], computed independently
    assert pseudonym_map(pd.Series(["0000001"]), KEY).loc["0000001"] == "pa171b83948bb978c02d7"


def test_same_key_same_pseudonym_so_lists_join_back():
    first = pseudonymize(pd.DataFrame({"customer_id": ["a", "b", "a"], "clv": [1.0, 2.0, 3.0]}), KEY)
    second = pseudonymize(pd.DataFrame({"customer_id": ["b", "a"]}), KEY)
    assert first["customer_id"][0] == first["customer_id"][2] == second["customer_id"][1]
    assert first["customer_id"].str.fullmatch(r"p[0-9a-f]{20}").all()
    assert list(first["clv"]) == [1.0, 2.0, 3.0]


def test_other_key_other_pseudonym_and_missing_ids_stay_missing():
    ids = pd.Series(["a", None], dtype="str")
    one, other = pseudonym_map(ids, KEY), pseudonym_map(ids, KEY + "x")
    assert one.loc["a"] != other.loc["a"]
    assert pseudonymize(pd.DataFrame({"customer_id": ids}), KEY)["customer_id"].isna().tolist() == [False, True]


def test_short_key_is_refused():
    with pytest.raises(OptionError, match="too short"):
        pseudonym_map(pd.Series(["a"]), "abc")


def test_master_attributes_are_the_personal_columns_only():
    master = pd.DataFrame(
        columns=["customer_id", "name", "phone", "salesperson", "region", "product_value", "vip_level"]
    )
    assert master_attributes(master) == ("name", "phone", "vip_level")
    table = pd.DataFrame({"customer_id": ["a"], "name": ["Ann"], "phone": ["1"], "clv": [2.0]})
    assert list(without_attributes(table, master_attributes(master)).columns) == ["customer_id", "clv"]
    assert master_attributes(None) == ()
