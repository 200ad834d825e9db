"""The library under the CLI: read and score from a notebook, fit once and score many, share safely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import crmkit
from crmkit.cli import app
from crmkit.datasets.sample import simulate_sales
from crmkit.errors import InputFileError, OptionError

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """An export as an analyst holds it in a notebook: Chinese headers, text amounts, a bad row."""
    tx = simulate_sales(120, seed=5).transactions
    frame = pd.DataFrame(
        {
            "客户编号": tx["customer_id"].astype("str"),
            "订单编号": tx["order_id"].astype("str"),
            "下单时间": tx["order_date"].dt.strftime("%Y/%m/%d"),
            "实付金额": [f"¥{a:,.2f}" for a in tx["amount"]],
            "销售员": tx["salesperson"],
        }
    )
    frame.loc[7, "实付金额"] = "n/a"
    return frame


def test_a_dataframe_scores_like_the_same_data_written_to_a_file(tmp_path, orders):
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False, encoding="utf-8-sig")
    from_file = tmp_path / "from_file.parquet"
    _cli("segment", path, "--out", from_file, "-q")

    tx = crmkit.read_transactions(orders)
    assert (tx.report.rows_read, tx.report.rows_dropped) == (len(orders), 1)
    assert tx.rejects["source_row"].tolist() == ["7"]  # the frame's own row position
    result = crmkit.score(tx)
    expected = pd.read_parquet(from_file)
    pd.testing.assert_frame_equal(
        result.customers.astype({"customer_id": "str"}).reset_index(drop=True),
        expected.astype({"customer_id": "str"}),
        check_dtype=False,
        check_categorical=False,
    )


def test_the_summary_is_typed_and_its_json_is_what_the_cli_prints(tmp_path, orders):
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    printed = json.loads(_cli("segment", path, "--format", "json"))
    summary = crmkit.score(crmkit.read_transactions(path)).summary
    assert summary.data.rows_dropped == printed["data"]["rows_dropped"] == 1
    assert [t.tier for t in summary.tiers] == [t["tier"] for t in printed["tiers"]]
    assert json.loads(json.dumps(summary.to_json(), default=str))["pareto"]["gini"] == pytest.approx(
        printed["pareto"]["gini"]
    )


def test_models_fit_on_their_own():
    tx = simulate_sales(300, seed=2).transactions
    summary = crmkit.customer_summary(tx, time_unit="week")
    model = crmkit.fit_transaction_model("mbgnbd", summary["frequency"], summary["recency"], summary["T"])
    alive = model.p_alive(summary["frequency"], summary["recency"], summary["T"])
    assert model.converged and len(alive) == len(summary) and ((alive > 0) & (alive <= 1)).all()


def test_import_is_light_and_the_version_is_there():
    code = "import sys, crmkit; print(crmkit.__version__, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [crmkit.__version__, "False"]


# --- fit once, score many ---------------------------------------------------------------
@pytest.fixture(scope="module")
def quarter(tmp_path_factory) -> tuple[Path, Path]:
    """A sales file and the model fitted on it (weekly parameters)."""
    folder = tmp_path_factory.mktemp("quarter")
    sales = folder / "sales.csv"
    simulate_sales(400, seed=9).transactions.to_csv(sales, index=False)
    model = folder / "model.json"
    _cli("value", sales, "--time-unit", "week", "--model-out", model, "-q", "--format", "json")
    return sales, model


def test_a_saved_model_scores_without_fitting_and_gives_the_same_values(quarter, tmp_path):
    sales, model = quarter
    fitted_again = json.loads(_cli("value", sales, "--time-unit", "week", "--format", "json", "-q"))
    reused = json.loads(_cli("value", sales, "--time-unit", "week", "--model-in", model, "--format", "json", "-q"))
    assert reused["model"]["params"] == fitted_again["model"]["params"]
    assert reused["value_by_tier"] == fitted_again["value_by_tier"]
    saved = json.loads(model.read_text(encoding="utf-8"))
    assert saved["crmkit_version"] == crmkit.__version__ and saved["time_unit"] == "week"
    loaded = crmkit.load_model(model)
    assert loaded.transactions.params == saved["params"] and loaded.spend.p == saved["gamma_gamma"]["p"]


def test_a_model_fitted_earlier_scores_today_with_its_own_parameters(quarter, tmp_path):
    sales, _ = quarter
    earlier = tmp_path / "h1.json"
    _cli("value", sales, "--time-unit", "week", "--as-of", "2024-06-30", "--model-out", earlier, "-q")
    today = json.loads(_cli("value", sales, "--time-unit", "week", "--format", "json", "-q"))
    reused = json.loads(_cli("value", sales, "--time-unit", "week", "--model-in", earlier, "--format", "json", "-q"))
    assert reused["model"]["params"] == json.loads(earlier.read_text())["params"] != today["model"]["params"]
    assert reused["data"]["as_of"] == today["data"]["as_of"] == "2024-12-31"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m | {"crmkit_version": "1.0.0"}, "written by crmkit 1.0.0"),
        (lambda m: {k: v for k, v in m.items() if k != "crmkit_version"}, "does not say which version"),
        (lambda m: m | {"params": {"r": 1.0}}, "lacks parameter"),
        (lambda m: {"hello": 1}, "not a crmkit model file"),
    ],
)
def test_a_model_file_from_elsewhere_is_refused(quarter, tmp_path, edit, message):
    _, model = quarter
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(edit(json.loads(model.read_text()))))
    with pytest.raises(InputFileError, match=message):
        crmkit.load_model(bad)


def test_a_model_in_another_time_unit_is_refused_naming_both(quarter):
    sales, model = quarter
    result = CliRunner().invoke(app, ["value", str(sales), "--model-in", str(model)], env=ENV)
    assert result.exit_code == 2
    assert "in weeks, but --time-unit is 'day'" in result.stderr and "score with --time-unit week" in result.stderr
    with pytest.raises(OptionError, match="time_unit"):
        crmkit.ScoreOptions(time_unit="day", fitted=crmkit.load_model(model))


# --- sharing covers every output --------------------------------------------------------
def test_pseudonyms_reach_the_rejects_file_and_the_drop_examples(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(
        "Customer ID,Order Date,Amount\nSECRET-1,2024-01-05,10\nSECRET-1,someday,12\nSECRET-2,2024-02-01,x\n"
        "SECRET-2,2024-02-03,7\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    out = tmp_path / "out.csv"
    key = "a-long-secret"
    result = CliRunner().invoke(
        app,
        ["segment", str(path), "--rejects", str(rejects), "--out", str(out), "--pseudonymize", key, "--no-model"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    everything = result.output + rejects.read_text(encoding="utf-8-sig") + out.read_text(encoding="utf-8-sig")
    assert "SECRET" not in everything
    pseudonym = crmkit.score(
        crmkit.read_transactions(path),
        options=crmkit.ScoreOptions(model=None, sharing=crmkit.Sharing(pseudonym_key=key)),
    ).customers["customer_id"]
    assert set(pseudonym) <= set(pd.read_csv(out)["customer_id"]) | set(pd.read_csv(rejects)["customer_id"])


def test_an_id_quoted_in_a_drop_example_is_pseudonymised(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("Customer ID,Order Date,Amount\n=cmd,2024-01-05,10\n", encoding="utf-8")
    tx = crmkit.read_transactions(path)
    shared = crmkit.Sharing(pseudonym_key="a-long-secret").transactions(tx)
    assert shared.rejects.equals(tx.rejects) and shared.report.examples == tx.report.examples  # nothing dropped


EUROPEAN = "Kunde;Datum;Betrag\nA;13.01.2024;1.500\nB;14.01.2024;2.250\nA;15.02.2024;3\n"


def test_a_dialect_the_file_cannot_settle_is_asked_for_by_its_parameter(tmp_path):
    path = tmp_path / "umsatz.csv"
    path.write_text(EUROPEAN, encoding="cp1252")
    with pytest.raises(crmkit.CrmkitError) as caught:
        crmkit.read_transactions(path, columns={"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag"})
    assert "decimal=','" in caught.value.hint and "--decimal" not in caught.value.hint
    read = crmkit.read_transactions(
        path, columns={"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag"}, decimal=","
    )
    assert read.frame["amount"].tolist() == [1500.0, 2250.0, 3.0]


def test_a_header_below_a_title_is_given_by_its_row(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("Sales report 2024,,\nclient,when,paid\nA,2024-01-03,10\n", encoding="utf-8")
    columns = {"customer_id": "client", "order_date": "when", "amount": "paid"}
    with pytest.raises(crmkit.CrmkitError) as caught:
        crmkit.read_transactions(path)
    assert "header_row=N" in caught.value.hint and "columns={" in caught.value.hint
    assert crmkit.read_transactions(path, columns=columns, header_row=2).frame["amount"].tolist() == [10.0]
