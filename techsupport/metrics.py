"""The /metrics endpoint, and the registry of gauges of state the apps add to it.

Counters and histograms live with the app where things happen (tickets/metrics.py,
ingestion/metrics.py). Under gunicorn or Celery with several processes, set
PROMETHEUS_MULTIPROC_DIR (the container image does): each process writes its samples there and
/metrics adds them up. Gauges of *state* (dead letters, open tickets past due) are not per-process
values: each app registers a function that computes one from the database at scrape time.
"""

import logging
import os
from collections.abc import Callable

from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

_state_gauges: dict[str, tuple[str, Callable[[], float]]] = {}


def state_gauge_register(name: str, documentation: str, compute: Callable[[], float]) -> None:
    """A gauge computed by `compute()` at every scrape (an app's AppConfig.ready() registers it)."""
    _state_gauges[name] = (documentation, compute)


class StateCollector:
    """The registered gauges of state, read when Prometheus scrapes. A gauge whose store is down
    is left out (and logged): a scrape never fails because of one."""

    def collect(self):
        for name, (documentation, compute) in _state_gauges.items():
            try:
                value = compute()
            except Exception:
                logger.exception("state metric unavailable", extra={"metric": name})
                continue
            yield GaugeMetricFamily(name, documentation, value=value)


_state_registry = CollectorRegistry(auto_describe=False)
_state_registry.register(StateCollector())


def process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request):
    body = generate_latest(process_registry()) + generate_latest(_state_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
