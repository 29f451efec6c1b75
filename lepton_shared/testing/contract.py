"""The contract every app's predictor, CLI and service must pass.

Each app reuses it as ``implicit`` reuses its model test mixin::

    class TestChatbotContract(AppContract):
        app_name = "chatbot"

The class trains once on the app's built-in data, with the tiny options of the app's
manifest, in an isolated LEPTON_HOME,
then checks the predictor in-process, the ``evaluate --json`` CLI contract in a
subprocess, and the service over real HTTP on loopback.

An app overrides :meth:`AppContract.distinct_inputs` with a few different valid
request bodies, so that the batch test can tell whether answers come back in
order. Answers are compared with :func:`assert_answers_close`: numbers within a
small tolerance (a batched forward pass may differ from a single one in the
last bits of a float), everything else exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import eventually, serve_app

TOKEN = "contract-test-token"

#: How far two answers' numbers may differ and still count as the same answer.
REL_TOL = 1e-4
ABS_TOL = 1e-6


def _mismatch(actual: Any, expected: Any, where: str) -> str | None:
    """Where two JSON-like values differ (numbers within tolerance), or None when they match."""
    numbers = (int, float)
    if (isinstance(expected, numbers) and isinstance(actual, numbers)
            and not isinstance(expected, bool) and not isinstance(actual, bool)):
        if actual == pytest.approx(expected, rel=REL_TOL, abs=ABS_TOL, nan_ok=True):
            return None
        return f"{where}: {actual!r} != {expected!r} (rel={REL_TOL}, abs={ABS_TOL})"
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(actual) != set(expected):
            return f"{where}: keys {sorted(map(str, actual))} != {sorted(map(str, expected))}"
        for key in expected:
            found = _mismatch(actual[key], expected[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        if len(actual) != len(expected):
            return f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = _mismatch(a, e, f"{where}[{i}]")
            if found:
                return found
        return None
    if type(actual) is not type(expected):  # e.g. True against 1, or None against 0.0
        return f"{where}: {type(actual).__name__} {actual!r} != {type(expected).__name__} {expected!r}"
    return None if actual == expected else f"{where}: {actual!r} != {expected!r}"


def _jsonable(value: Any) -> Any:
    """What the service would send: the answer through JSON (dates and the like as strings)."""
    return json.loads(json.dumps(value, default=str))


def answers_close(actual: Any, expected: Any) -> bool:
    """Whether two answers are the same: same keys, lengths and strings, numbers within tolerance."""
    return _mismatch(_jsonable(actual), _jsonable(expected), "answer") is None


def assert_answers_close(actual: Any, expected: Any, label: str = "answer") -> None:
    """Fail with the first differing field unless the two answers are the same (see :func:`answers_close`)."""
    found = _mismatch(_jsonable(actual), _jsonable(expected), label)
    assert found is None, found


class AppContract:
    app_name: ClassVar[str]
    #: operations fuzzed with invalid requests only (see :func:`lepton_shared.testing.fuzz.fuzz_service`)
    fuzz_invalid_only: ClassVar[tuple[str, ...]] = ()

    @property
    def evaluate_argv(self) -> list[str]:
        """The tiny evaluation options of the app's manifest (the CLI words the contract's subprocesses pass)."""
        from lepton_shared.manifest import get_manifest

        return list(get_manifest(self.app_name).tiny_evaluate_args)

    @pytest.fixture(scope="class")
    def trained(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        """A home with the app's tiny model: the manifest's tiny options, as the CLI turns them into a config.

        ``--promote always``: a tiny model need not beat its baseline, and the rest of the contract needs it
        in production; the gate itself is :meth:`test_promotion_gate_refuses_worse_and_promotes_better`'s."""
        from lepton_shared.app import get_app
        from lepton_shared.cli.main import parse_config
        from lepton_shared.manifest import get_manifest

        home = tmp_path_factory.mktemp(f"{self.app_name}-contract")
        with lepton_env(home, api_token=TOKEN):
            config = parse_config(self.app_name, "train", [*get_manifest(self.app_name).tiny_train_args,
                                                           "--promote", "always"])
            yield get_app(self.app_name).train(config)

    @pytest.fixture(scope="class")
    def service(self, trained: Any) -> Iterator[str]:
        from lepton_shared.app import get_app

        with serve_app(get_app(self.app_name).create_service()) as base:
            yield base

    @staticmethod
    def _auth() -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def distinct_inputs(self) -> list[dict[str, Any]]:
        """Several different valid request bodies, ideally with different answers (order is checked on them).

        Apps override this; the default is the predictor's single example, with which the batch test can
        only check the batch's length and that each answer equals the single one."""
        from lepton_shared.app import get_app

        return [get_app(self.app_name).load_predictor().example_input()]

    def typed_requests(self) -> list[tuple[str, str, Any]]:
        """(method, path, JSON body) of the app's own routes whose answers
        :meth:`test_answers_match_their_declared_models` checks, besides every GET route without path
        parameters and ``POST /v1/predict``. Apps add their main routes."""
        return []

    # -- predictor --------------------------------------------------------
    def test_train_registers_production_version(self, trained: Any) -> None:
        from lepton_shared.app import get_app

        assert trained.stage == "production"
        assert trained.path.is_dir() and any(trained.path.iterdir())
        assert get_app(self.app_name).key_metric in trained.metrics, trained.metrics

    def test_predictor_answers_example(self, trained: Any) -> None:
        from lepton_shared.app import get_app

        predictor = get_app(self.app_name).load_predictor()
        item = predictor.InputModel.model_validate(predictor.example_input())
        out = predictor.predict(item)
        assert out["model_version"] == trained.version
        json.dumps(out)  # JSON-able

    def test_predict_batch_keeps_length_and_order(self, trained: Any) -> None:
        from lepton_shared.app import get_app

        predictor = get_app(self.app_name).load_predictor()
        bodies = self.distinct_inputs()
        assert bodies, "distinct_inputs() returned no request bodies"
        texts = [json.dumps(b, sort_keys=True) for b in bodies]
        assert len(set(texts)) == len(texts), "distinct_inputs() repeats a request body"
        items = [predictor.InputModel.model_validate(b) for b in bodies]
        singles = [predictor.predict(item) for item in items]
        for i in range(len(singles)):  # different answers, or a swapped order could not be seen
            for j in range(i + 1, len(singles)):
                assert not answers_close(singles[i], singles[j]), \
                    f"distinct_inputs() items {i} and {j} get the same answer: order cannot be checked"
        if len(items) == 1:
            items, singles = items * 3, singles * 3
        batch = predictor.predict_batch(items)
        assert len(batch) == len(items)
        for i, (answer, single) in enumerate(zip(batch, singles, strict=True)):
            assert_answers_close(answer, single, f"batch[{i}]")
        # the same items in the opposite order come back in that order
        backwards = predictor.predict_batch(items[::-1])
        assert len(backwards) == len(items)
        for i, (answer, single) in enumerate(zip(backwards, singles[::-1], strict=True)):
            assert_answers_close(answer, single, f"reversed batch[{i}]")

    def test_unknown_model_version_is_a_user_error(self, trained: Any) -> None:
        from lepton_shared.app import get_app
        from lepton_shared.errors import UserError

        with pytest.raises(UserError):
            get_app(self.app_name).load_predictor("v999")

    def test_promotion_gate_refuses_worse_and_promotes_better(self, trained: Any, tmp_path: Path) -> None:
        """The gate on this app's own metrics: training records a baseline of the key metric where the gate
        reads it; a version worse than production beyond the tolerance, or one that loses to its baseline,
        stays a candidate, and a better one becomes production. Crafted values, registered in a home of
        their own, so that the model trained above keeps serving."""
        from lepton_shared.app import get_app
        from lepton_shared.promotion import best_baseline, register_trained
        from lepton_shared.registry import Registry

        app = get_app(self.app_name)
        key, sign = app.key_metric, (1.0 if app.higher_is_better else -1.0)
        scale = app.tolerance / 0.01  # steps of ten tolerances, in the key metric's units
        found = best_baseline(trained.metrics, key, app.higher_is_better)
        assert found is not None, f"training recorded no baseline {key} in metrics['baselines']: {trained.metrics}"
        name = found[0]

        def register(value: float, baseline: float = 0.0) -> str:
            """A version whose key metric is ``value`` steps better than 0.5, and its baseline's ``baseline``."""
            baselines = {**trained.metrics["baselines"], name: {**trained.metrics["baselines"][name],
                                                                 key: scale * (0.5 + sign * baseline)}}
            metrics = {**trained.metrics, key: scale * (0.5 + sign * value), "baselines": baselines}

            def write(folder: Path) -> None:
                (folder / "model.txt").write_text(str(value))

            return register_trained(self.app_name, write, metrics=metrics, params={"seed": 42},
                                    data_fingerprint="gate-test").stage

        with lepton_env(tmp_path / "gate-home"):
            assert register(0.2) == "production"  # the first version: beats its baseline
            assert register(0.1) == "candidate"  # worse than production by more than the tolerance
            assert register(0.25, baseline=0.3) == "candidate"  # better than production, loses to its baseline
            assert register(0.25) == "production"
            assert Registry().get(self.app_name).version == "v4"
            record = Registry().history(self.app_name)[-1]
            assert (record.version, record.previous_version, record.metric) == ("v4", "v1", key)
            assert record.value == pytest.approx(scale * (0.5 + sign * 0.25)) and record.reason.startswith("promoted: ")

    def test_the_same_seed_trains_the_same_metrics(self, trained: Any, tmp_path: Path) -> None:
        """Training again with the same options and seed, in a home of its own, gives the same figures: a seed
        is what makes a figure over seeds a measurement. Only times and throughputs may differ."""
        from lepton_shared.app import get_app
        from lepton_shared.cli.main import parse_config
        from lepton_shared.manifest import get_manifest

        with lepton_env(tmp_path / "again"):
            config = parse_config(self.app_name, "train", [*get_manifest(self.app_name).tiny_train_args,
                                                           "--promote", "always"])
            again = get_app(self.app_name).train(config)
        first, second = _figures(trained.metrics), _figures(again.metrics)
        assert first, f"no figures in {trained.metrics}"
        assert second.keys() == first.keys()
        same = {k: second[k] == pytest.approx(first[k], rel=1e-6, abs=1e-9, nan_ok=True) for k in first}
        different = {k: (first[k], second[k]) for k, equal in same.items() if not equal}
        assert not different, f"the same seed trained different figures: {different}"

    def test_cli_evaluate_prints_one_json_object(self, trained: Any) -> None:
        from lepton_shared.app import get_app

        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", self.app_name, "evaluate", "--json",
                               *self.evaluate_argv], capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        metrics = json.loads(proc.stdout)
        assert isinstance(metrics, dict)
        assert get_app(self.app_name).key_metric in metrics

    def test_cli_unknown_version_is_one_line_error(self, trained: Any) -> None:
        proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", self.app_name, "evaluate", "--json",
                               "--model", "v999", *self.evaluate_argv], capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert "Traceback" not in proc.stderr and "v999" in proc.stderr

    def test_cli_missing_data_file_is_one_line_error(self, trained: Any, tmp_path: Path) -> None:
        proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", self.app_name, "train", "--data",
                               str(tmp_path / "nope.csv")], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr and "not found" in proc.stderr

    # -- service ----------------------------------------------------------
    def test_health_needs_no_token(self, service: str) -> None:
        assert httpx.get(f"{service}/healthz").json() == {"status": "ok"}

    def test_ready_reports_model_version(self, service: str, trained: Any) -> None:
        body = httpx.get(f"{service}/readyz").json()
        assert body["status"] == "ready" and body["model_version"] == trained.version

    def test_model_report_is_the_served_versions(self, service: str, trained: Any) -> None:
        assert httpx.get(f"{service}/v1/model/report").status_code == 401
        resp = httpx.get(f"{service}/v1/model/report", headers=self._auth(), timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-model-version"] == trained.version
        assert resp.headers["content-type"].startswith("text/html") and "<img" in resp.text

    def test_answers_match_their_declared_models(self, service: str, trained: Any) -> None:
        """What the service sends is what its OpenAPI document promises: each answer validates against the
        model the document names for the route (looked up in the app's ``schemas`` module or the shell's), and
        an answer has no key its model leaves undeclared (``/v1/predict``'s own fields aside)."""
        import importlib
        import re

        from pydantic import BaseModel, TypeAdapter

        from lepton_shared.app import get_app
        from lepton_shared.serving import schemas as shared

        doc = httpx.get(f"{service}/openapi.json").json()
        modules = [importlib.import_module(f"apps.{self.app_name}.schemas"), shared]

        def model_of(schema: dict[str, Any]) -> Any:
            if schema.get("type") == "array":
                return list[model_of(schema["items"])]  # type: ignore[misc]
            name = schema["$ref"].rsplit("/", 1)[-1]
            return next(getattr(m, name) for m in modules if hasattr(m, name))

        def declared(method: str, path: str) -> dict[str, Any]:
            (template,) = [t for t, ops in doc["paths"].items() if method.lower() in ops
                           and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path.split("?")[0])]
            responses = doc["paths"][template][method.lower()]["responses"]
            return next(r for code, r in responses.items() if code.startswith("2"))["content"]

        calls: list[tuple[str, str, Any]] = [("GET", path, None) for path, ops in doc["paths"].items()
                                             if "get" in ops and "{" not in path
                                             and "application/json" in declared("GET", path)]
        calls += [("POST", "/v1/predict", get_app(self.app_name).load_predictor().example_input()),
                  *self.typed_requests()]
        assert len(calls) > 3
        for method, path, body in calls:
            resp = httpx.request(method, f"{service}{path}", json=body, headers=self._auth(), timeout=120)
            assert resp.status_code < 300, (method, path, resp.text)
            model = model_of(declared(method, path)["application/json"]["schema"])
            answer = resp.json()
            TypeAdapter(model).validate_python(answer)
            if model is not shared.Prediction and isinstance(model, type) and issubclass(model, BaseModel):
                assert set(answer) <= set(model.model_fields), (path, set(answer) - set(model.model_fields))

    def test_missing_or_wrong_token_is_rejected(self, service: str) -> None:
        from lepton_shared.app import get_app

        example = get_app(self.app_name).load_predictor().example_input()
        assert httpx.post(f"{service}/v1/predict", json=example).status_code == 401
        bad = {"Authorization": "Bearer wrong"}
        assert httpx.post(f"{service}/v1/predict", json=example, headers=bad).status_code == 401

    def test_predict_over_http_matches_in_process(self, service: str, trained: Any) -> None:
        from lepton_shared.app import get_app

        predictor = get_app(self.app_name).load_predictor()
        example = predictor.example_input()
        resp = httpx.post(f"{service}/v1/predict", json=example, headers=self._auth(), timeout=60)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("x-request-id")
        expected = predictor.predict(predictor.InputModel.model_validate(example))
        assert_answers_close(resp.json(), expected, "HTTP answer")

    def test_malformed_body_gets_4xx_with_message(self, service: str) -> None:
        resp = httpx.post(f"{service}/v1/predict", content=b"{not json", headers={**self._auth(),
                          "content-type": "application/json"})
        assert resp.status_code == 422 and resp.json()["detail"]
        resp = httpx.post(f"{service}/v1/predict", json={"unexpected": [1, 2]}, headers=self._auth())
        assert 400 <= resp.status_code < 500 and isinstance(resp.json()["detail"], str)

    def test_non_finite_number_is_422(self, service: str) -> None:
        """The example with its first number made Infinity (JSON as Python writes it) is refused, not scored."""
        from lepton_shared.app import get_app

        body, replaced = _with_first_number(get_app(self.app_name).load_predictor().example_input(), float("inf"))
        if not replaced:
            pytest.skip("the example request holds no number")
        resp = httpx.post(f"{service}/v1/predict", content=json.dumps(body),
                          headers={**self._auth(), "content-type": "application/json"}, timeout=60)
        assert resp.status_code == 422 and "finite" in resp.json()["detail"], resp.text

    def test_oversized_body_is_rejected(self, service: str) -> None:
        from lepton_shared.settings import get_settings

        big = b"x" * (get_settings().max_request_bytes + 1)
        resp = httpx.post(f"{service}/v1/predict", content=big, headers=self._auth())
        assert resp.status_code == 413

    def test_metrics_and_prediction_log(self, service: str) -> None:
        from sqlalchemy import func, select

        from lepton_shared.app import get_app
        from lepton_shared.storage import PredictionLog, session_scope

        example = get_app(self.app_name).load_predictor().example_input()
        httpx.post(f"{service}/v1/predict", json=example, headers=self._auth(), timeout=60)
        text = httpx.get(f"{service}/metrics", headers=self._auth()).text
        assert "lepton_requests_total" in text
        def logged() -> int:
            with session_scope() as session:
                return int(session.scalar(select(func.count()).select_from(PredictionLog)
                                          .where(PredictionLog.app == self.app_name)) or 0)

        assert eventually(logged, lambda n: n >= 1) >= 1


    def test_monitor_compares_served_answers_with_the_registered_profile(self, service: str, trained: Any) -> None:
        """The answer to the example is logged with the features the app's monitor names, the same ones its
        training profiled, and ``lepton monitor`` reports it."""
        from lepton_shared.app import get_app
        from lepton_shared.monitoring import load_profile
        from lepton_shared.monitoring.report import monitor_report

        example = get_app(self.app_name).load_predictor().example_input()
        before = monitor_report(self.app_name, "1h")["requests"]
        assert httpx.post(f"{service}/v1/predict", json=example, headers=self._auth(), timeout=60).status_code == 200
        report = eventually(lambda: monitor_report(self.app_name, "1h"), lambda r: r["requests"] > before)
        assert report["requests"] > before and report["error_rate"] == 0.0
        assert report["latency_ms"]["p50"] is not None
        profile = load_profile(trained.path)
        if profile is None:
            assert "without a monitoring profile" in report["notes"][0]
            return
        drift = report["drift"]
        assert drift["model_version"] == trained.version and set(drift["features"]) == set(profile.features)
        assert drift["prediction"] is not None and drift["prediction"]["n"] >= 1
        assert all(f["n"] >= 1 for f in drift["features"].values()), drift["features"]

    def test_fuzzed_requests_to_every_route_get_no_5xx(self, service: str) -> None:
        """Every operation of the service's OpenAPI schema, with generated valid and invalid requests
        (:mod:`lepton_shared.testing.fuzz`), authenticated; the service answers /healthz and /readyz after.
        Last in the class: the fuzz writes rows (events, labels, feedback) that earlier tests might count."""
        from lepton_shared.testing.fuzz import fuzz_service

        sent, failures = fuzz_service(service, TOKEN, invalid_only=frozenset(self.fuzz_invalid_only))
        assert sent > 0
        assert httpx.get(f"{service}/healthz", timeout=10).json() == {"status": "ok"}
        ready = httpx.get(f"{service}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert not failures, f"{len(failures)} of {sent} fuzzed requests got a 5xx:\n" + "\n".join(failures)


#: metric names that measure the machine rather than the model (times, rates, devices)
_MACHINE_WORDS = ("second", "per_s", "_ms", "latency", "throughput", "device", "mixed_precision", "wall")


def _figures(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number in ``metrics`` (nested keys joined by dots), leaving out what measures the machine."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if any(word in str(key).lower() for word in _MACHINE_WORDS):
            continue
        if isinstance(value, dict):
            out.update(_figures(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _with_first_number(value: Any, new: float) -> tuple[Any, bool]:
    """``value`` (a JSON-like body) with its first number, depth first, replaced by ``new``; and whether one was."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return new, True
    if isinstance(value, dict):
        out = dict(value)
        for key, item in value.items():
            out[key], done = _with_first_number(item, new)
            if done:
                return out, True
        return value, False
    if isinstance(value, list):
        items = list(value)
        for i, item in enumerate(value):
            items[i], done = _with_first_number(item, new)
            if done:
                return items, True
    return value, False
