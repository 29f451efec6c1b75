"""The cost model and its overrides."""

from __future__ import annotations

import pytest

from apps.maintenance.costs import CostModel, parse_costs
from lepton_shared.errors import UserError


def test_cost_overrides_are_checked() -> None:
    assert CostModel().with_overrides(downtime_cost=5).downtime_cost == 5
    with pytest.raises(UserError):
        CostModel().with_overrides(nope=1)
    with pytest.raises(UserError):
        CostModel(failure_cost=-1)


def test_cost_options_parse_into_overrides() -> None:
    assert parse_costs(None) == CostModel()
    costs = parse_costs(["downtime_cost=300", " period = 10"])
    assert costs.downtime_cost == 300.0 and costs.period == 10 and isinstance(costs.period, int)
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_costs(["downtime_cost"])
    with pytest.raises(UserError, match="not a number"):
        parse_costs(["downtime_cost=lots"])
