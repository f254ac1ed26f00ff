"""Instants a datetime cannot hold are a 400 on every surface that takes a date filter.

Was: `?from=9999-12-31T23:00:00-05:00` (year 10000 in UTC) and `0001-01-01T00:00:00+05:00`
(before year 1) raised OverflowError in parse_instant: 500 on /api/tickets, every report and
the admin dashboard."""

from datetime import UTC, datetime

import pytest

from accounts.services import supervisors_group_sync
from reports.selectors import REPORTS
from techsupport.exceptions import ValidationFailed
from techsupport.validation import parse_instant

pytestmark = pytest.mark.django_db

UNREPRESENTABLE = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59.999999-00:01"]
MESSAGE = "Must be an instant between 0001-01-01 and 9999-12-31 in UTC."


@pytest.mark.parametrize("value", UNREPRESENTABLE)
def test_parse_instant_refuses_what_it_cannot_represent(value):
    with pytest.raises(ValidationFailed) as caught:
        parse_instant(value, "from")

    assert caught.value.details == {"from": MESSAGE}


@pytest.mark.parametrize(
    ("value", "end_of_day", "expected"),
    [
        ("9999-12-31", True, datetime.max.replace(tzinfo=UTC)),
        ("0001-01-01", False, datetime.min.replace(tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", False, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("0001-01-01T05:00:00+05:00", False, datetime.min.replace(tzinfo=UTC)),
    ],
)
def test_parse_instant_accepts_the_ends_of_the_range(value, end_of_day, expected):
    assert parse_instant(value, "to", end_of_day=end_of_day) == expected


@pytest.mark.parametrize("key", ["from", "to"])
@pytest.mark.parametrize("value", UNREPRESENTABLE)
def test_ticket_list_filters_out_of_range_are_400(admin_client, key, value):
    response = admin_client.get("/api/tickets", {key: value})

    assert response.status_code == 400
    assert response.json() == {
        "message": "The request is invalid.",
        "code": "validation_error",
        "details": {key: MESSAGE},
    }


@pytest.mark.parametrize("name", list(REPORTS))
@pytest.mark.parametrize("value", UNREPRESENTABLE[:2])
def test_report_filters_out_of_range_are_400(admin_client, name, value):
    response = admin_client.get(f"/api/reports/{name}", {"from": value})

    assert (response.status_code, response.json()["details"]) == (400, {"from": MESSAGE})


@pytest.mark.parametrize("value", UNREPRESENTABLE[:2])
def test_the_dashboard_shows_an_out_of_range_filter_as_an_error(client, supervisor, value):
    supervisor.groups.add(supervisors_group_sync())
    client.force_login(supervisor)

    response = client.get("/admin/reports/dashboard/", {"from": value})

    assert response.status_code == 200
    assert response.context["errors"] == {"from": MESSAGE}


@pytest.mark.parametrize("path", ["/api/tickets", "/api/reports/weekly-status"])
def test_the_widest_representable_range_answers(admin_client, path):
    response = admin_client.get(path, {"from": "0001-01-01", "to": "9999-12-31"})

    assert response.status_code == 200
