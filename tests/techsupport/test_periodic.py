import pytest
from celery import current_app
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def test_every_periodic_task_is_a_registered_task(settings):
    current_app.loader.import_default_modules()

    assert (
        sorted(spec["task"] for spec in settings.PERIODIC_TASKS.values() if spec["task"] not in current_app.tasks) == []
    )


def test_setup_periodic_tasks_is_idempotent(settings, capsys):
    call_command("setup_periodic_tasks")
    call_command("setup_periodic_tasks")

    installed = {
        task.name: (task.task, task.interval.every, task.expire_seconds)
        for task in PeriodicTask.objects.select_related("interval")
    }
    assert installed == {
        name: (spec["task"], spec["every"], spec["every"]) for name, spec in settings.PERIODIC_TASKS.items()
    }
    assert "sla-sweep" in capsys.readouterr().out
