"""``lepton perf serve chatbot`` against the tiny model: a real ``lepton chatbot serve`` subprocess on
loopback, one and two clients, batching off and on."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_shared.testing.env import lepton_env


@pytest.mark.slow
def test_perf_serve_returns_the_figures(trained_home: Path) -> None:
    from lepton_shared.perf.serve import ServeBench, measure

    with lepton_env(trained_home):
        result = measure(ServeBench(app="chatbot", clients=(1, 2), requests=8, seconds=20, warmup=2,
                                    overhead_requests=5, inputs=4), quiet=True)
    assert {"overhead_p50_ms", "inprocess_p50_ms", "service_p50_ms", "clients", "peak_rss_mb",
            "load_average", "http_floor_p50_ms", "overhead_over_floor_p50_ms"} <= set(result)
    assert 0 < result["http_floor_p50_ms"] < result["service_p50_ms"]
    assert result["batching_default"] == "on" and set(result["overhead_p50_ms_by_batching"]) == {"off", "on"}
    for count in ("1", "2"):
        for mode in ("off", "on"):
            level = result["clients"][count][mode]
            assert level["errors"] == 0 and level["requests"] == 8
            assert level["req_per_s"] > 0 and 0 < level["p50_ms"] <= level["p99_ms"]
    assert result["clients"]["2"]["on"]["batches"] >= 1 and result["clients"]["2"]["off"]["mean_batch"] is None
    assert result["peak_rss_mb"]["on"] > 0
