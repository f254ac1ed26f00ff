#!/bin/sh
# One image, several roles. Secrets come from the environment (see .env.example).
set -e

case "$1" in
  migrate)
    python manage.py migrate --noinput
    python manage.py ensure_admin
    python manage.py setup_periodic_tasks
    python manage.py ensure_mongo_indexes
    ;;
  api)
    # Prometheus multiprocess mode: every gunicorn worker writes its samples here.
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"/* 2>/dev/null || true
    exec gunicorn config.wsgi:application --config gunicorn.conf.py
    ;;
  worker)
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"/* 2>/dev/null || true
    # Every queue of settings.CELERY_TASK_QUEUES unless CELERY_QUEUES names some (comma-separated).
    exec celery -A config worker --loglevel=INFO \
      ${CELERY_QUEUES:+--queues "$CELERY_QUEUES"} \
      --concurrency "${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A config beat --loglevel=INFO \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler
    ;;
  flower)
    : "${FLOWER_BASIC_AUTH:?FLOWER_BASIC_AUTH (user:password) must be set}"
    exec celery -A config flower --port=5555 --basic-auth="$FLOWER_BASIC_AUTH"
    ;;
  *)
    exec "$@"
    ;;
esac
