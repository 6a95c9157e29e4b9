"""The compiled (numba) Kalman loops equal the engine's numpy loops."""

from __future__ import annotations

import numpy as np
import pytest

from spinepose_sports.smoothing import _compiled
from spinepose_sports.smoothing.engine import forward_filter, rts_smoother, transition

pytestmark = pytest.mark.skipif(not _compiled.AVAILABLE, reason="numba not installed")


def _problem(order: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_time, n_ser = 120, 5
    time_s = np.cumsum(rng.uniform(0.01, 0.05, n_time))
    z = np.cumsum(rng.normal(0, 3, (n_time, 2, n_ser)), axis=0) + 100
    z += 80.0 * (rng.random((n_time, 1, n_ser)) < 0.05)  # outliers for the gate
    var = rng.uniform(1, 30, (n_time, n_ser))
    valid = rng.random((n_time, n_ser)) > 0.2
    valid[30:45, 1] = False  # a long gap: a restart
    force = (rng.random((n_time, n_ser)) > 0.97) & valid
    init_var = np.array([1e6, 400.0**2, 3000.0**2])[: order + 1]
    F, Q = transition(order, 5e4, np.diff(time_s, prepend=time_s[:1]))
    inflation = 2.0 ** (np.diff(time_s, prepend=time_s[:1]) / 0.05)
    kw = dict(gate=3.0, restart_after_s=0.3, inflation=inflation, force=force)
    return (z, var, valid, time_s, F, Q, init_var), kw


@pytest.mark.parametrize("order", [1, 2])
def test_compiled_filter_and_smoother_equal_numpy(order, monkeypatch):
    args, kw = _problem(order)
    fw_c = forward_filter(*args, **kw)
    xs_c, Ps_c = rts_smoother(fw_c, args[4], args[5])
    monkeypatch.setattr(_compiled, "AVAILABLE", False)
    fw_n = forward_filter(*args, **kw)
    xs_n, Ps_n = rts_smoother(fw_n, args[4], args[5])
    assert fw_n.reset.any() and (~fw_n.accepted & args[2]).any()  # restarts and rejections
    for a, b in [(fw_c.accepted, fw_n.accepted), (fw_c.reset, fw_n.reset),
                 (fw_c.live, fw_n.live)]:
        assert (a == b).all()
    np.testing.assert_allclose(fw_c.inflation, fw_n.inflation, rtol=1e-12)
    np.testing.assert_allclose(fw_c.x, fw_n.x, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(fw_c.P, fw_n.P, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(xs_c, xs_n, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(Ps_c, Ps_n, rtol=1e-7, atol=1e-6)  # ill-conditioned priors
