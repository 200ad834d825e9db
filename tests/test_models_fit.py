"""Fitting machinery: unique-row compression, input checks, self-healing, bound warnings and serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import OptimizeResult

from crmkit.datasets.btyd import simulate_bgnbd
from crmkit.errors import BadValueError, OptionError
from crmkit.models import (
    MODEL_NAMES,
    TransactionModel,
    _fit,
    compress,
    fit_transaction_model,
)


def _customers(n: int = 5000, seed: int = 0):
    sim = simulate_bgnbd({"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}, np.arange(n) % 40 + 10.0, seed=seed)
    return sim.frequency, np.round(sim.recency), sim.T


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50))
def test_softplus_is_logaddexp_with_zero(values):
    d = np.array([*values, np.inf, -np.inf, 0.0, 800.0, -800.0])
    np.testing.assert_allclose(_fit.softplus(d), np.logaddexp(0.0, d), rtol=1e-15, atol=1e-300)


@given(
    st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False)), min_size=1, max_size=40),
    st.booleans(),
)
def test_factorize_gives_sorted_uniques_and_positions(values, whole):
    values = np.round(values) if whole else np.array(values)  # whole numbers take the counting path
    uniques, codes = _fit._factorize(np.asarray(values, dtype=np.float64))
    np.testing.assert_array_equal(uniques, np.unique(values))
    np.testing.assert_array_equal(uniques[codes], values)


class TestCompress:
    def test_unique_rows_scatter_back_to_every_customer(self):
        x = np.array([2, 0, 2, 1, 0, 2.0])
        t_x = np.array([5, 0, 5, 3, 0, 4.0])
        T = np.array([9, 9, 9, 9, 7, 9.0])
        data = compress(x, t_x, T)
        assert len(data.x) == 5 and data.weight.sum() == 6
        np.testing.assert_array_equal(data.x[data.inverse], x)
        np.testing.assert_array_equal(data.t_x[data.inverse], t_x)
        np.testing.assert_array_equal(data.T[data.inverse], T)
        np.testing.assert_array_equal(data.x_values[data.x_index], data.x)
        np.testing.assert_array_equal(data.T_values[data.T_index], data.T)
        pair_x, pair_T, pair = data.x_T_pairs
        np.testing.assert_array_equal(pair_x[pair], data.x)
        np.testing.assert_array_equal(pair_T[pair], data.T)

    def test_recency_of_one_time_buyers_is_ignored(self):
        data = compress([0, 0], [0.0, 3.0], [5.0, 5.0])
        assert len(data.x) == 1 and data.t_x[0] == 0.0

    @pytest.mark.parametrize(
        "x,t_x,T,problem",
        [
            ([1, 2], [1.0, 6.0], [5.0, 5.0], "recency greater than T"),
            ([1, -1], [1.0, 0.0], [5.0, 5.0], "a negative value"),
            ([1, np.nan], [1.0, 0.0], [5.0, 5.0], "a missing or infinite value"),
        ],
    )
    def test_bad_summaries_name_the_row(self, x, t_x, T, problem):
        with pytest.raises(BadValueError, match=f"row 1 has {problem}"):
            compress(x, t_x, T)


class TestHealing:
    def test_a_failed_fit_is_retried_with_rescaled_time_and_says_so(self, monkeypatch):
        calls = []
        real = _fit.minimize

        def fail_first(*args, **kwargs):
            result = real(*args, **kwargs)
            calls.append(kwargs["method"])
            if len(calls) == 1:
                return OptimizeResult(x=result.x, fun=result.fun, success=False, message="forced failure")
            return result

        monkeypatch.setattr(_fit, "minimize", fail_first)
        model = fit_transaction_model("bgnbd", *_customers())
        assert model.converged and calls == ["L-BFGS-B", "L-BFGS-B"]
        assert model.notes[0] == "L-BFGS-B did not converge: forced failure"
        assert model.notes[1].startswith("retried with time rescaled by 1/")
        reference = fit_transaction_model("bgnbd", *_customers())
        for key, value in reference.params.items():
            assert model.params[key] == pytest.approx(value, rel=1e-3)

    def test_every_retry_is_recorded_when_nothing_converges(self, monkeypatch):
        def never(*args, **kwargs):
            start = args[1]
            return OptimizeResult(x=start, fun=float(args[0](start)[0]), success=False, message="no")

        monkeypatch.setattr(_fit, "minimize", never)
        model = fit_transaction_model("mbgnbd", *_customers())
        assert not model.converged
        assert sum(note.startswith("retried") for note in model.notes) == 3
        assert any("penalizer" in note for note in model.notes)
        assert any("did not converge after every retry" in w for w in model.warnings)

    def test_a_parameter_pinned_at_a_bound_is_warned_about(self):
        # Everybody buys once a week until today: no sign of dropout, so a (the dropout scale) runs off to 0.
        x = np.tile(np.arange(1, 30.0), 50)
        model = fit_transaction_model("bgnbd", x, x, x + 0.5)
        assert model.converged
        assert any(w.startswith("parameter a = ") and "lower bound" in w for w in model.warnings)

    def test_penalizer_shrinks_log_parameters_towards_the_reference(self):
        plain = fit_transaction_model("bgnbd", *_customers())
        shrunk = fit_transaction_model("bgnbd", *_customers(), penalizer=1.0)
        for key in ("r", "a", "b"):
            assert abs(np.log(shrunk.params[key])) < abs(np.log(plain.params[key]))
        assert shrunk.log_likelihood < plain.log_likelihood

    def test_a_negative_penalizer_is_refused(self):
        with pytest.raises(BadValueError, match="penalizer"):
            fit_transaction_model("bgnbd", *_customers(), penalizer=-1.0)


class TestModelObject:
    def test_unknown_model_lists_the_choices(self):
        with pytest.raises(OptionError, match="bgnbd, mbgnbd, pareto"):
            fit_transaction_model("bgbb", [1], [1.0], [2.0])

    def test_no_repeat_buyers_says_what_to_do(self):
        with pytest.raises(BadValueError, match="no customer has a repeat purchase") as caught:
            fit_transaction_model("mbgnbd", [0, 0], [0.0, 0.0], [3.0, 4.0])
        assert "more history" in str(caught.value)

    @pytest.mark.parametrize("name", MODEL_NAMES)
    def test_round_trip_through_a_json_file(self, name, tmp_path):
        model = fit_transaction_model(name, *_customers(3000, seed=1))
        path = tmp_path / "model.json"
        path.write_text(json.dumps(model.to_dict()), encoding="utf-8")
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert saved["model"] == name and saved["converged"] is True and saved["n_customers"] == 3000
        assert set(saved["params"]) == ({"r", "alpha", "s", "beta"} if name == "pareto" else {"r", "alpha", "a", "b"})
        again = TransactionModel.from_dict(saved)
        x, t_x, T = _customers(200, seed=9)
        np.testing.assert_array_equal(again.expected_purchases(10, x, t_x, T), model.expected_purchases(10, x, t_x, T))
        np.testing.assert_array_equal(again.p_alive(x, t_x, T), model.p_alive(x, t_x, T))

    def test_a_damaged_saved_model_is_refused(self):
        with pytest.raises(BadValueError, match="'bgbb' is not one of"):
            TransactionModel.from_dict({"model": "bgbb", "params": {}})
        with pytest.raises(BadValueError, match="lacks parameter"):
            TransactionModel.from_dict({"model": "bgnbd", "params": {"r": 1, "alpha": 1, "a": 1}})
        with pytest.raises(BadValueError, match="not a positive number"):
            TransactionModel.from_dict({"model": "pareto", "params": {"r": 1, "alpha": -1, "s": 1, "beta": 1}})

    def test_a_negative_horizon_is_refused(self):
        model = TransactionModel("bgnbd", {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, 0.0, 0)
        with pytest.raises(OptionError, match="horizon"):
            model.expected_purchases(-1, [1], [1.0], [2.0])
