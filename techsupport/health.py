"""Liveness, readiness and process metrics. No authentication: probes and load balancers call these."""

import os
import resource
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from techsupport import mongo
from techsupport.exceptions import error_body

_STARTED = time.time()


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _check_redis():
    if not settings.REDIS_URL:
        return {"mode": "not used: local mode's file broker and in-process cache"}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _check_mongo():
    return mongo.server_description()


CHECKS = {"database": _check_database, "redis": _check_redis, "mongo": _check_mongo}


@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request):
    checks, failing = {}, []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            extra = check()
            checks[name] = {"status": "ok", **extra}
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            failing.append(name)
            checks[name] = {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"[:300]}
        checks[name]["latencyMs"] = round((time.perf_counter() - started) * 1000, 1)
    if failing:
        body = error_body(f"Not ready: {', '.join(failing)} unavailable.", "not_ready", {"checks": checks})
        return JsonResponse({**body, "status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@require_GET
def process_metrics(request):
    return JsonResponse(
        {
            "uptimeSeconds": round(time.time() - _STARTED, 1),
            "pid": os.getpid(),
            "memory": {
                "rssBytes": _rss_bytes(),
                "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            },
        }
    )
