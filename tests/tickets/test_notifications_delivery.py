"""Delivery of SLA notifications through the outbox: email, webhook, retries, failure, re-drive."""

from datetime import timedelta
from unittest import mock

import pytest
import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.utils import timezone

from tests.tickets.conftest import T0
from tests.tickets.factories import ClientFactory, without_first_response
from tickets import notifications, services
from tickets.models import Notification
from tickets.states import ClientType
from tickets.sweep import sla_sweep
from tickets.tasks import DELIVERY_MAX_RETRIES, notification_deliver_task

pytestmark = pytest.mark.django_db

DUE = T0 + timedelta(hours=2)
WEBHOOK = "https://hooks.example.test/sla"


@pytest.fixture
def vip_ticket(desk):
    client = ClientFactory(type=ClientType.VIP)
    return without_first_response(
        services.ticket_create(title="Core switch down", description="Down.", client=client, actor=None, now=T0)
    )


def _sweep_and_commit(capture, now=DUE):
    with capture(execute=True):
        return sla_sweep(now=now)


def _ok_response():
    response = mock.Mock(status_code=200)
    response.raise_for_status.return_value = None
    return response


def test_the_sweep_emails_every_recipient_after_commit(vip_ticket, desk, django_capture_on_commit_callbacks):
    _sweep_and_commit(django_capture_on_commit_callbacks)

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [desk.agent2.email, desk.agent3.email, desk.supervisor.email, desk.supervisor2.email]
    )
    email = mail.outbox[0]
    assert email.subject == "[TechSupport Pro] SLA escalation: Core switch down"
    assert "SLA escalation to level 1" in email.body
    assert str(vip_ticket.pk) in email.body
    rows = Notification.objects.all()
    assert {(n.email_status, n.webhook_status, n.attempts, n.last_error) for n in rows} == {("sent", "skipped", 1, "")}


def test_nothing_is_sent_before_the_commit(vip_ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sla_sweep(now=DUE)

    assert mail.outbox == []
    assert callbacks  # the enqueue waits for the commit
    assert set(Notification.objects.values_list("email_status", flat=True)) == {"pending"}


def test_the_webhook_gets_one_post_per_event(vip_ticket, settings, django_capture_on_commit_callbacks):
    settings.SLA_WEBHOOK_URL = WEBHOOK
    settings.SLA_WEBHOOK_TIMEOUT_S = 2.5

    with mock.patch("tickets.notifications.requests.post", return_value=_ok_response()) as post:
        _sweep_and_commit(django_capture_on_commit_callbacks)

    post.assert_called_once()
    assert post.call_args.args == (WEBHOOK,)
    assert post.call_args.kwargs["timeout"] == 2.5
    payload = post.call_args.kwargs["json"]
    assert payload == {
        "text": (
            "SLA escalation to level 1: ticket «Core switch down» (VIP) was due at 2026-03-02 11:00 UTC "
            "and is still not resolved."
        ),
        "kind": "sla_escalation",
        "ticketId": str(vip_ticket.pk),
        "ticketTitle": "Core switch down",
        "clientType": "VIP",
        "escalationLevel": 1,
        "slaDueAt": "2026-03-02T11:00:00Z",
        "target": "resolution",
        "createdAt": "2026-03-02T11:00:00Z",
    }
    statuses = sorted(Notification.objects.values_list("webhook_status", flat=True))
    assert statuses == ["sent", "skipped", "skipped", "skipped"]
    assert len(mail.outbox) == 4


def test_a_webhook_down_is_retried_then_recorded_failed_and_email_still_goes(
    vip_ticket, settings, django_capture_on_commit_callbacks
):
    settings.SLA_WEBHOOK_URL = WEBHOOK
    down = requests.ConnectionError("connection refused")

    with mock.patch("tickets.notifications.requests.post", side_effect=down) as post:
        result = _sweep_and_commit(django_capture_on_commit_callbacks)

    assert result.escalated == 1  # the sweep itself never waits for or fails on a delivery
    assert post.call_count == 1 + DELIVERY_MAX_RETRIES
    carrier = Notification.objects.exclude(webhook_status="skipped").get()
    assert (carrier.webhook_status, carrier.email_status) == ("failed", "sent")
    assert carrier.attempts == 1 + DELIVERY_MAX_RETRIES
    assert carrier.last_error == "webhook: ConnectionError: connection refused"
    assert len(mail.outbox) == 4  # one per recipient, none repeated by the retries


def test_a_webhook_5xx_is_a_failure_too(vip_ticket, settings, django_capture_on_commit_callbacks):
    settings.SLA_WEBHOOK_URL = WEBHOOK
    response = mock.Mock(status_code=503)
    response.raise_for_status.side_effect = requests.HTTPError("503 Service Unavailable")

    with mock.patch("tickets.notifications.requests.post", return_value=response) as post:
        _sweep_and_commit(django_capture_on_commit_callbacks)

    assert post.call_count == 1 + DELIVERY_MAX_RETRIES
    assert Notification.objects.filter(webhook_status="failed").count() == 1


def test_an_email_failure_is_retried_and_a_later_success_counts(vip_ticket, django_capture_on_commit_callbacks):
    real_send = notifications.send_mail
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError("SMTP server unreachable")
        return real_send(**kwargs)

    with mock.patch("tickets.notifications.send_mail", side_effect=flaky):
        _sweep_and_commit(django_capture_on_commit_callbacks)

    rows = list(Notification.objects.order_by("recipient__email"))
    assert {n.email_status for n in rows} == {"sent"}
    # The first two rows failed once and went out on the retry, which re-sent only them.
    assert sorted(n.attempts for n in rows) == [1, 1, 2, 2]
    assert len(mail.outbox) == 4


def test_an_email_that_keeps_failing_is_recorded_failed(vip_ticket, django_capture_on_commit_callbacks):
    with mock.patch("tickets.notifications.send_mail", side_effect=OSError("SMTP server unreachable")):
        _sweep_and_commit(django_capture_on_commit_callbacks)

    rows = Notification.objects.all()
    assert {(n.email_status, n.attempts, n.last_error) for n in rows} == {
        ("failed", 1 + DELIVERY_MAX_RETRIES, "email: OSError: SMTP server unreachable")
    }


def test_delivering_a_row_twice_sends_it_once(vip_ticket):
    sla_sweep(now=DUE)
    ids = [str(pk) for pk in Notification.objects.values_list("pk", flat=True)]

    notification_deliver_task.apply(args=(ids,))
    notification_deliver_task.apply(args=(ids,))

    assert len(mail.outbox) == 4
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_a_broker_outage_at_enqueue_leaves_the_rows_pending_for_the_redrive(
    vip_ticket, django_capture_on_commit_callbacks
):
    with mock.patch.object(notification_deliver_task, "apply_async", side_effect=ConnectionError("redis down")):
        result = _sweep_and_commit(django_capture_on_commit_callbacks)

    assert result.escalated == 1
    assert set(Notification.objects.values_list("email_status", flat=True)) == {"pending"}
    assert mail.outbox == []


def test_the_redrive_delivers_rows_pending_for_too_long_and_only_those(vip_ticket):
    sla_sweep(now=DUE)  # no commit callbacks: as if the process died between commit and enqueue
    now = timezone.now()
    stale, fresh = list(Notification.objects.order_by("recipient__email"))[:2]
    Notification.objects.filter(pk=stale.pk).update(updated_at=now - notifications.REDRIVE_AFTER)
    Notification.objects.exclude(pk=stale.pk).update(updated_at=now)

    redriven = notifications.notification_redrive(now=now)

    assert redriven == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.email_status, fresh.email_status) == ("sent", "pending")
    assert [message.to for message in mail.outbox] == [[stale.recipient.email]]
    assert notifications.notification_redrive(now=now) == 0


def test_the_redrive_task_runs(vip_ticket):
    sla_sweep(now=DUE)
    Notification.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    from tickets.tasks import notification_redrive_task

    assert notification_redrive_task.apply().get() == 4
    assert len(mail.outbox) == 4


def test_a_recipient_without_email_is_skipped(desk, vip_ticket, django_capture_on_commit_callbacks):
    from accounts.models import User

    User.objects.filter(pk=desk.agent2.pk).update(email="")

    _sweep_and_commit(django_capture_on_commit_callbacks)

    assert Notification.objects.get(recipient=desk.agent2).email_status == "skipped"
    assert len(mail.outbox) == 3


def test_a_delivery_out_of_time_hands_the_untried_rows_to_a_fresh_task(vip_ticket, django_capture_on_commit_callbacks):
    # The SMTP server is slow: the task's soft time limit strikes while the second row is sent.
    with django_capture_on_commit_callbacks(execute=False):
        sla_sweep(now=DUE)
    ids = [str(pk) for pk in Notification.objects.order_by("created_at", "id").values_list("pk", flat=True)]
    assert len(ids) == 4
    sent = []

    def slow_smtp(notification):
        if len(sent) == 1:
            raise SoftTimeLimitExceeded()
        sent.append(str(notification.pk))

    with (
        mock.patch("tickets.notifications._email_send", side_effect=slow_smtp),
        mock.patch("tickets.tasks.publish") as publish,
    ):
        left = notification_deliver_task.apply(args=[ids]).get()

    assert left == 2
    publish.assert_called_once_with(notification_deliver_task, ids[2:])
    rows = {str(n.pk): (n.email_status, n.attempts, n.last_error) for n in Notification.objects.all()}
    assert rows[ids[0]] == ("sent", 1, "")
    # Interrupted: rolled back, no attempt counted and no error recorded (the re-drive takes it).
    assert rows[ids[1]] == ("pending", 0, "")
    assert [rows[i] for i in ids[2:]] == [("pending", 0, "")] * 2
