"""One "at risk" rule: the badge, the admin filter, the dashboard and the metrics gauge agree,
also after a policy change (each ticket keeps the warning instant its clock started with)."""

from datetime import timedelta

import pytest
from django.test import Client as WebClient
from django.utils import timezone

from accounts.services import supervisors_group_sync
from tests.techsupport.test_metrics import sample
from tests.tickets.factories import ClientFactory
from tickets.admin.sla_badge import sla_state
from tickets.models import SlaPolicy, Ticket
from tickets.services import sla_policy_update, ticket_create

pytestmark = pytest.mark.django_db


def _at_risk_everywhere(browser, now) -> dict[str, object]:
    """What each of the four places says is at risk, by ticket title."""
    tickets = Ticket.objects.order_by("title")
    changelist = browser.get("/admin/tickets/ticket/?at_risk=yes")
    dashboard = browser.get("/admin/reports/dashboard/")
    metrics = WebClient().get("/metrics").content.decode()
    assert changelist.status_code == dashboard.status_code == 200
    return {
        "badge": {t.title for t in tickets if sla_state(t, now=now)[0] == "risk"},
        "filter": {t.title for t in changelist.context["cl"].result_list},
        "dashboard": dashboard.context["summary"]["at_risk"],
        "gauge": sample(metrics, "sla_open_at_risk_tickets"),
    }


def test_a_policy_change_leaves_badge_filter_dashboard_and_gauge_in_agreement(supervisor):
    supervisor.groups.add(supervisors_group_sync())
    browser = WebClient()
    browser.force_login(supervisor)
    now = timezone.now()
    normal = ClientFactory(type="NORMAL")
    # Under the 24 h policy (warning at 80 %: 19.2 h): 20 h old is at risk, 2 h old is not.
    ticket_create(title="old", description="d", client=normal, actor=None, now=now - timedelta(hours=20))
    ticket_create(title="young", description="d", client=normal, actor=None, now=now - timedelta(hours=2))

    before = _at_risk_everywhere(browser, timezone.now())

    sla_policy_update(policy=SlaPolicy.objects.get(client_type="NORMAL"), target_hours=8)
    # Under the 8 h policy (warning at 6.4 h): 7 h old is at risk, 1 h old is not.
    ticket_create(title="new", description="d", client=normal, actor=None, now=now - timedelta(hours=7))
    ticket_create(title="newest", description="d", client=normal, actor=None, now=now - timedelta(hours=1))
    after = _at_risk_everywhere(browser, timezone.now())

    assert before == {"badge": {"old"}, "filter": {"old"}, "dashboard": 1, "gauge": 1.0}
    # "old" keeps the window it was given (due at 24 h), so it is still at risk and not breached.
    assert after == {"badge": {"old", "new"}, "filter": {"old", "new"}, "dashboard": 2, "gauge": 2.0}
