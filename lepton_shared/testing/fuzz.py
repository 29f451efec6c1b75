"""Fuzz a running service from its own OpenAPI schema (schemathesis on hypothesis).

Every operation gets ``examples`` schema-valid and as many schema-violating requests, authenticated with the
given token. The answers that are 5xx are returned rather than raised, so one run lists every broken route;
a 5xx is a bug to fix at the boundary (a 4xx with a message).
"""

from __future__ import annotations

import os
from typing import Any

import httpx

#: examples per operation and generation mode; CI's default keeps the five services' fuzz near a minute
EXAMPLES = int(os.environ.get("LEPTON_FUZZ_EXAMPLES", "5"))


def _fuzz_operation(operation: Any, mode: Any, base: str, headers: dict[str, str], examples: int,
                    failures: list[str]) -> int:
    """Send the operation's generated requests; append each 5xx to ``failures``; how many were sent."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    sent = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=base, headers=headers, timeout=60)
        sent += 1
        if response.status_code >= 500:
            failures.append(f"{operation.label} [{mode.value}] -> {response.status_code} {response.text[:200]!r}\n"
                            f"    reproduce: {case.as_curl_command()}")

    try:
        send()
    except Unsatisfiable:  # a route without parameters or body has no invalid request to make
        pass
    return sent


def fuzz_service(base: str, token: str | None, examples: int = EXAMPLES,
                 invalid_only: frozenset[str] = frozenset()) -> tuple[int, list[str]]:
    """(requests sent, the 5xx answers described) for every operation of the service at ``base``.

    ``invalid_only``: operations (``"POST /v1/..."``) whose valid requests each do seconds of real work (a
    simulation); they get the schema-violating requests only, and their valid answers are the app's own tests'."""
    import schemathesis
    from schemathesis.core.result import Err
    from schemathesis.generation import GenerationMode

    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    operations = []
    for result in schemathesis.openapi.from_dict(doc).get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the service's OpenAPI schema has an operation schemathesis cannot read: "
                                 f"{result.err()}")
        operations.append(result.ok())
    expected = sum(1 for ops in doc["paths"].values() for method in ops if method != "parameters")
    if len(operations) != expected:
        raise AssertionError(f"schemathesis found {len(operations)} operations, the schema has {expected}")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []
    sent = 0
    for operation in operations:
        # the bearer header is the only input of a route without body, path or query: one request says it all
        # (and /v1/admin/reload loads the model each time)
        varies = bool(len(operation.body) or len(operation.path_parameters) or len(operation.query))
        modes = [GenerationMode.NEGATIVE] if operation.label in invalid_only else list(GenerationMode)
        for mode in modes:
            sent += _fuzz_operation(operation, mode, base, headers, examples if varies else 1, failures)
    return sent, failures
