"""Prometheus metrics at `GET /metrics`, for the people who run the server.

HTTP requests and latency by route template come from prometheus-fastapi-instrumentator; the
server's own figures (runs by status, queue length, viewers, predictions, training pace,
dropped events, executor errors) are read from the live state at each scrape. Every name starts
with `nnp_`. Each app has a registry of its own, so several apps can live in one process.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator

from app.settings import Settings

router = APIRouter(tags=["health"])

PREDICTION_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class Metrics:
    """The metrics of one app: its registry and what request handlers observe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.prediction_seconds = Histogram(
            "nnp_prediction_seconds",
            "Time to answer one prediction (decode, prepare, forward pass, feature maps)",
            ["via"],  # "websocket" (the draw pages) or "rest"
            buckets=PREDICTION_BUCKETS,
            registry=self.registry,
        )


@contextmanager
def timed_prediction(app: FastAPI, via: str) -> Iterator[None]:
    """Count the block as one prediction answered `via` "websocket" or "rest", with how long it
    took, if it answers (a request that fails is not a prediction)."""
    started = time.perf_counter()
    yield
    app.state.metrics.prediction_seconds.labels(via).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> Metrics:
    """Count the app's HTTP requests, read its live state at each scrape; returns the metrics."""
    metrics = Metrics()
    Instrumentator(
        should_group_status_codes=False,
        excluded_handlers=["/metrics", "/static/.*", "/vendor/.*"],
        registry=metrics.registry,
    ).instrument(app, metric_namespace="nnp")
    metrics.registry.register(_LiveState(app))
    app.state.metrics = metrics
    return metrics


class _LiveState(Collector):
    """Figures read from the run manager, the store and the event bus when Prometheus scrapes."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        state = self._app.state
        if not hasattr(state, "manager"):  # not started yet, or shut down
            return
        runs = GaugeMetricFamily("nnp_runs", "Runs in the store by status", labels=["status"])
        for status, count in sorted(state.store.count_runs().items()):
            runs.add_metric([status], count)
        yield runs
        queued = GaugeMetricFamily(
            "nnp_queue_length", "Runs waiting for a device", labels=["device"]
        )
        for device, length in sorted(state.manager.queue_lengths().items()):
            queued.add_metric([device], length)
        yield queued
        yield GaugeMetricFamily(
            "nnp_websocket_viewers",
            "Open /ws/runs sockets over every run",
            value=state.bus.total_viewers(),
        )
        yield CounterMetricFamily(
            "nnp_events_dropped",
            "Live step points dropped for viewers too slow to read them (history keeps them)",
            value=state.bus.dropped(),
        )
        yield CounterMetricFamily(
            "nnp_executor_errors",
            "Runs cut short because what trained them failed (a training process was lost)",
            value=state.manager.executor_errors,
        )
        yield from _paces(state.manager.training_paces())


def _paces(paces: list[tuple[str, str, float]]) -> Iterator[Metric]:
    per_run = GaugeMetricFamily(
        "nnp_training_samples_per_second",
        "Training pace of each run that is training (its latest step; 0 while paused)",
        labels=["run_id", "device"],
    )
    per_device: dict[str, float] = {}
    for run_id, device, pace in paces:
        per_run.add_metric([run_id, device], pace)
        per_device[device] = per_device.get(device, 0.0) + pace
    yield per_run
    device_total = GaugeMetricFamily(
        "nnp_device_samples_per_second",
        "Training pace summed over the runs training on each device",
        labels=["device"],
    )
    for device, pace in sorted(per_device.items()):
        device_total.add_metric([device], pace)
    yield device_total


def _refusal(request: Request, settings: Settings) -> Response | None:
    """With a metrics token the bearer must match (else 401); without one /metrics is open in
    single-user mode and not there (404) in shared mode."""
    if settings.metrics_token is None:
        if settings.is_shared():
            return Response("Not Found", status_code=404, media_type="text/plain")
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected):
        return None
    return Response(
        "send the metrics token: Authorization: Bearer NNP_METRICS_TOKEN",
        status_code=401,
        media_type="text/plain",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/metrics", include_in_schema=False)
def read_metrics(request: Request) -> Response:
    """The Prometheus text format (see the module's docstring)."""
    settings: Settings = request.app.state.settings
    refusal = _refusal(request, settings)
    if refusal is not None:
        return refusal
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
