"""The ingestion app's metrics: rows and job durations counted after the counting transaction
commits, and the dead-letter gauge computed at scrape time (registered in apps.py)."""

from prometheus_client import Counter, Histogram

ingestion_rows_total = Counter("ingestion_rows_total", "Excel rows ingested.", ["outcome"])
ingestion_job_duration_seconds = Histogram(
    "ingestion_job_duration_seconds",
    "Duration of import jobs from start to finish.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)


def state_gauges_register() -> None:
    from ingestion.selectors import dead_letter_count
    from techsupport.metrics import state_gauge_register

    state_gauge_register("dead_letters", "Dead letters waiting for replay.", dead_letter_count)
