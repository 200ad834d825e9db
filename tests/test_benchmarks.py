"""The benchmark scripts still run against today's API: each at a tiny size, so they cannot rot unnoticed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_bench_excel_writes_a_scored_workbook(tmp_path: Path) -> None:
    out = run_script("bench_excel.py", "--rows", "300", "--only", "crmkit", "--out-dir", str(tmp_path), cwd=tmp_path)
    assert "× 51 columns" in out and (tmp_path / "crmkit_300_en.xlsx").stat().st_size > 0


def test_bench_models_fits_the_three_transaction_models(tmp_path: Path) -> None:
    out = run_script("bench_models.py", "--customers", "2000", cwd=tmp_path)
    for model in ("bgnbd", "mbgnbd", "pareto"):
        assert f"{model}" in out
    assert out.count("converged=True") == 3


def test_eval_churn_reports_bands_on_simulated_truth(tmp_path: Path) -> None:
    out = run_script("eval_churn.py", "--customers", "1000", "--seeds", "7", cwd=tmp_path)
    assert all(band in out for band in ("low", "medium", "high"))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_gen_tx_writes_the_requested_file(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"tx.{suffix}"
    out = run_script("gen_tx.py", "--customers", "300", "--out", str(target), cwd=tmp_path)
    assert "customers=300" in out and target.stat().st_size > 0
