"""The scoring run's parallel section: the model fit on the second core uses one BLAS thread, and the
process's BLAS setting is back as it was afterwards (no oversubscribed cores, nothing left changed)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.datasets.sample import simulate_sales
from crmkit.pipeline import run


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_the_model_fit_runs_with_one_blas_thread_and_the_setting_is_restored(tmp_path, monkeypatch):
    if not blas_threads():
        pytest.skip("no BLAS library whose threads can be set")
    path = tmp_path / "sales.csv"
    simulate_sales(120, seed=3).transactions.to_csv(path, index=False)
    during: list[set[int]] = []
    score_value = run.score_value

    def fit(*args, **kwargs):
        during.append(blas_threads())
        return score_value(*args, **kwargs)

    monkeypatch.setattr(run, "score_value", fit)
    with threadpool_limits(limits=2, user_api="blas"):
        result = CliRunner().invoke(app, ["segment", str(path), "--format", "json"])
        after = blas_threads()
    assert result.exit_code == 0, result.output
    assert '"model"' in result.output  # the fit ran and was reported
    assert during == [{1}]
    assert after == {2}
