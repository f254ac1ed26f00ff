"""Domain metrics and the /metrics endpoint.

Counters and histograms are incremented where things happen (services, tasks). Under gunicorn or
Celery with several processes, set PROMETHEUS_MULTIPROC_DIR (the container image does): each process
writes its samples there and /metrics adds them up. Gauges of *state* (dead letters, open tickets
past due) are not per-process values: they are computed from PostgreSQL at scrape time.
"""

import logging
import os

from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

tickets_created_total = Counter("tickets_created_total", "Tickets created.", ["tier"])
ticket_transitions_total = Counter("ticket_transitions_total", "Ticket status changes.", ["from_status", "to_status"])
sla_breaches_total = Counter("sla_breaches_total", "SLA breaches applied by sweeps.", ["tier", "action"])
sla_escalations_total = Counter("sla_escalations_total", "Escalations applied by SLA sweeps.", ["level"])
sla_sweep_duration_seconds = Histogram("sla_sweep_duration_seconds", "Duration of one SLA sweep.")
ingestion_rows_total = Counter("ingestion_rows_total", "Excel rows ingested.", ["outcome"])
ingestion_job_duration_seconds = Histogram(
    "ingestion_job_duration_seconds",
    "Duration of import jobs from start to finish.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)


class StateCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def collect(self):
        from django.utils import timezone

        try:
            from ingestion.models import DeadLetter
            from tickets.models import Ticket
            from tickets.states import CLOCK_STOPPED

            # Clock running (live, not RESOLVED/CLOSED) and past due: what `slaBreached` and the
            # sweep call overdue, whether or not a sweep has recorded the breach yet.
            past_due = Ticket.objects.alive().filter(sla_due_at__lt=timezone.now()).exclude(status__in=CLOCK_STOPPED)
            yield GaugeMetricFamily(
                "sla_open_past_due_tickets", "Open tickets past their SLA due time.", value=past_due.count()
            )
            yield GaugeMetricFamily(
                "dead_letters", "Dead letters waiting for replay.", value=DeadLetter.objects.count()
            )
        except Exception:  # a scrape must not fail because a store is down
            logger.exception("state metrics unavailable")


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
