"""The back-office's index, ordered for supervisors; `/` leads into it."""

import pytest
from django.test import Client as DjangoClient

from accounts.services import supervisors_group_sync

pytestmark = pytest.mark.django_db


def _index(user) -> list[tuple[str, list[str]]]:
    browser = DjangoClient()
    browser.force_login(user)
    response = browser.get("/admin/")
    assert response.status_code == 200
    assert "View site" not in response.content.decode()
    return [(app["app_label"], [m["object_name"] for m in app["models"]]) for app in response.context["app_list"]]


def test_supervisors_see_their_work_first_and_no_plumbing(supervisor):
    supervisor.groups.add(supervisors_group_sync())

    assert _index(supervisor) == [
        ("tickets", ["Ticket", "Client", "SlaPolicy", "BusinessCalendar", "Notification"]),
        ("reports", ["Dashboard"]),
        ("ingestion", ["ImportJob", "DeadLetter"]),
        ("accounts", ["User"]),
    ]


def test_admins_find_the_plumbing_below_the_work(admin_user):
    apps = [label for label, _ in _index(admin_user)]

    assert apps[:4] == ["tickets", "reports", "ingestion", "accounts"]
    assert apps[4:] == ["django_celery_beat", "token_blacklist", "auth"]


def test_the_root_redirects_to_the_back_office():
    response = DjangoClient().get("/")

    assert (response.status_code, response["Location"]) == (302, "/admin/")
