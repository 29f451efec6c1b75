from typing import Any

from lepton_shared.testing.contract import AppContract


def _readings(seed: int, end: int | None, n: int = 40) -> dict[str, Any]:
    """``n`` readings of one simulated machine up to row ``end`` (None: up to its failure)."""
    from apps.maintenance.simulator import simulate_fleet

    frame = simulate_fleet(1, seed=seed)
    frame = frame.iloc[:end].iloc[-n:]
    cols = [c for c in frame.columns if c.startswith(("s_", "setting_"))]
    return {"readings": [{c: round(float(v), 4) for c, v in zip(cols, row, strict=True)}
                         for row in frame[cols].to_numpy()]}


class TestMaintenanceContract(AppContract):
    app_name = "maintenance"
    # a valid comparison simulates every policy on held-out episodes (a minute on 2 loaded cores); test_service
    # checks its answer through the page client and its 4xx on bad costs and episodes
    fuzz_invalid_only = ("POST /v1/policies/compare",)

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # near failure, early in the same machine's life, and another machine at mid-life
        return [_readings(seed=3, end=None), _readings(seed=3, end=60), _readings(seed=11, end=-80, n=50)]

    def typed_requests(self) -> list[tuple[str, str, Any]]:
        # stored first, so the fleet and the machine's assessment and history have readings to answer with
        return [("POST", "/v1/machines/typed-1/readings", _readings(seed=3, end=60)),
                ("GET", "/v1/machines/typed-1", None), ("GET", "/v1/machines/typed-1/history", None),
                ("GET", "/v1/fleet", None)]
