"""Notifications (SLA events; an agent unassigned by the level rule): reading and marking them
(the API), and delivering them (the outbox).

Delivery (docs/design.md "transactional outbox", docs/adr/0006-sla-sweep.md):
1. The SLA sweep (or a ticket service) inserts the `Notification` rows in the transaction that
   applied the warning, breach, escalation or unassignment, with `email_status` /
   `webhook_status` pending (the SLA webhook carries SLA kinds only).
2. On commit it enqueues `notification_deliver_task` with the row ids (fast path).
3. `notification_redrive_task` re-enqueues rows still pending REDRIVE_AFTER after their last
   attempt (slow path: a crash between commit and enqueue, the broker down at that moment).
4. `notification_deliver` is idempotent per row and channel (a row is locked while it is
   delivered and a channel already `sent` is never sent again); the task retries transient
   failures with backoff and, after its last retry, records the channel as `failed`.

The webhook is one POST per sweep event (ticket + kind), carried by the event's first
notification row; the other recipients' rows have `webhook_status` skipped.
"""

import logging
from datetime import datetime, timedelta

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import NotFound
from techsupport.pgcopy import CopyRows, Uuid4Pool, copy_text
from techsupport.tasks import publish_on_commit, redrive
from tickets.models import Notification, Ticket

logger = logging.getLogger(__name__)

Delivery = Notification.Delivery

REDRIVE_AFTER = timedelta(minutes=10)  # longer than the delivery task's whole retry ladder
REDRIVE_BATCH = 1000
ERROR_MAX_CHARS = 2000


# --- Reading (the API) -------------------------------------------------------------------
def notification_list(*, recipient: User, unread: bool | None = None) -> QuerySet[Notification]:
    """The recipient's own notifications, newest first; `unread=True` only those not read,
    `unread=False` only those read."""
    notifications = Notification.objects.filter(recipient=recipient).order_by("-created_at", "-id")
    if unread is True:
        notifications = notifications.filter(read_at__isnull=True)
    elif unread is False:
        notifications = notifications.filter(read_at__isnull=False)
    return notifications


def notification_mark_read(*, recipient: User, notification_id, now: datetime | None = None) -> Notification:
    """Marks one of the recipient's notifications read and returns it. Idempotent: reading it
    again keeps the first `read_at`. Someone else's (or an unknown) id → 404
    `notification_not_found`, so ids of other people's notifications cannot be probed."""
    now = now or timezone.now()
    # A conditional UPDATE, not read-then-write: two clicks at once still keep the first instant.
    Notification.objects.filter(pk=notification_id, recipient=recipient, read_at__isnull=True).update(read_at=now)
    notification = Notification.objects.filter(pk=notification_id, recipient=recipient).first()
    if notification is None:
        raise NotFound("The notification does not exist.", code=ErrorCode.NOTIFICATION_NOT_FOUND)
    return notification


# --- Building (the sweep) ----------------------------------------------------------------
def notifications_build(
    *,
    ticket: Ticket,
    kind: str,
    recipients: list[User],
    message: str,
    data: dict,
    now: datetime,
    webhook: bool = True,
) -> list[Notification]:
    """Unsaved rows, one per recipient (the sweep bulk-inserts them). Email is pending for
    recipients with an address; the SLA webhook, when configured and `webhook`, rides on the
    first row only."""
    webhooks = _webhook_deliveries(len(recipients), webhook)
    return [
        Notification(
            recipient_id=recipient.pk,
            ticket_id=ticket.pk,
            kind=kind,
            message=message,
            data=data,
            created_at=now,
            updated_at=now,
            email_status=_email_delivery(recipient),
            webhook_status=webhook_status,
        )
        for recipient, webhook_status in zip(recipients, webhooks, strict=True)
    ]


def _email_delivery(recipient: User) -> str:
    """Email is pending for a recipient with an address."""
    return Delivery.PENDING if recipient.email else Delivery.SKIPPED


def _webhook_deliveries(count: int, webhook: bool) -> list[str]:
    """The SLA webhook, when configured and `webhook`, rides on the first of `count` rows only."""
    first = Delivery.PENDING if webhook and settings.SLA_WEBHOOK_URL else Delivery.SKIPPED
    return [first] + [Delivery.SKIPPED] * (count - 1) if count else []


class NotificationRows:
    """Notification rows for one bulk insert, built without model instances (a sweep's burst:
    tens of thousands of rows; techsupport/pgcopy.py): the same rows as `notifications_build`,
    each event's message and data formatted once for all its recipients, each recipient's
    columns once per batch. `ids` are the new rows' ids, in order, for
    `notifications_publish_on_commit`."""

    # The per-recipient columns first, then those every recipient of an event shares.
    FIELDS = ["id", "recipient_id", "email_status", "webhook_status"]
    FIELDS += ["ticket_id", "kind", "message", "data", "created_at", "updated_at", "attempts", "last_error"]

    def __init__(self):
        self.rows = CopyRows(Notification, self.FIELDS)
        self.ids: list[str] = []
        self._uuids = Uuid4Pool()
        self._recipients: dict = {}  # user id → "recipient_id<TAB>email_status" as COPY text
        self._instants: dict = {}  # instant → its COPY text

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self, *, ticket_id, kind: str, recipients: list[User], message: str, data: dict, now: datetime, webhook=True
    ) -> None:
        """`notifications_build`'s rows: one per recipient, email pending for recipients with
        an address, the SLA webhook (when configured and `webhook`) on the first row only."""
        if not recipients:
            return
        ids = self._uuids.take(len(recipients))
        self.ids += ids
        webhooks = _webhook_deliveries(len(recipients), webhook)
        if not self.rows.as_text:
            for row_id, user, webhook_status in zip(ids, recipients, webhooks, strict=True):
                email = _email_delivery(user)
                self.rows.add((row_id, user.pk, email, webhook_status, ticket_id, kind, message, data, now, now, 0, ""))
            return
        instant = self._instants.get(now) or self._instants.setdefault(now, copy_text(now))
        tail = f"{ticket_id}\t{copy_text(kind)}\t{copy_text(message)}\t{copy_text(data)}\t{instant}\t{instant}\t0\t"
        heads = [self._recipient(user) for user in recipients]
        rows = zip(ids, heads, webhooks, strict=True)
        self.rows.add_lines([f"{row_id}\t{head}\t{copy_text(webhook)}\t{tail}" for row_id, head, webhook in rows])

    def _recipient(self, user: User) -> str:
        head = self._recipients.get(user.pk)
        if head is None:
            head = self._recipients[user.pk] = f"{user.pk}\t{copy_text(_email_delivery(user))}"
        return head

    def add_instance(self, notification: Notification) -> None:
        self.rows.add_instance(notification)
        self.ids.append(str(notification.pk))

    def insert(self) -> None:
        self.rows.insert()


def notifications_publish_on_commit(notification_ids: list) -> None:
    """Enqueues the deliveries of these rows once the current transaction commits (in chunks); a
    broker failure then is logged, not raised: the rows stay pending for the re-drive."""
    from tickets.tasks import notification_deliver_task

    publish_on_commit(notification_deliver_task, notification_ids)


# --- Delivering (the outbox) -------------------------------------------------------------
def _email_send(notification: Notification) -> None:
    subject = {
        Notification.Kind.SLA_WARNING: "SLA warning",
        Notification.Kind.SLA_BREACH: "SLA breached",
        Notification.Kind.SLA_ESCALATION: "SLA escalation",
        Notification.Kind.UNASSIGNED: "Ticket unassigned",
    }[notification.kind]
    send_mail(
        subject=f"[TechSupport Pro] {subject}: {notification.ticket.title}",
        message=f"{notification.message}\n\nTicket id: {notification.ticket_id}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.recipient.email],
        fail_silently=False,
    )


def webhook_payload(notification: Notification) -> dict:
    """Slack-compatible (`text`) plus structured fields for other consumers."""
    return {
        "text": notification.message,
        "kind": notification.kind,
        "ticketId": str(notification.ticket_id),
        "ticketTitle": notification.ticket.title,
        "clientType": notification.data.get("clientType"),
        "escalationLevel": notification.data.get("escalationLevel"),
        "slaDueAt": notification.data.get("slaDueAt"),
        "target": notification.data.get("target"),
        "createdAt": notification.created_at.isoformat().replace("+00:00", "Z"),
    }


def _webhook_post(notification: Notification) -> None:
    response = requests.post(
        settings.SLA_WEBHOOK_URL, json=webhook_payload(notification), timeout=settings.SLA_WEBHOOK_TIMEOUT_S
    )
    response.raise_for_status()


def _error_text(channel: str, exc: Exception) -> str:
    return f"{channel}: {type(exc).__name__}: {exc}"


class DeliveryInterrupted(Exception):
    """The task's soft time limit struck while a row was being delivered. That row's transaction
    is rolled back (it stays pending, with no attempt counted, for the re-drive); `remaining`
    are the ids after it, not tried yet."""

    def __init__(self, remaining: list):
        super().__init__(f"{len(remaining)} notifications not tried")
        self.remaining = remaining


def _deliver_one(notification: Notification, *, final: bool, now: datetime) -> None:
    errors = []
    for field, send in (("email_status", _email_send), ("webhook_status", _webhook_post)):
        if getattr(notification, field) != Delivery.PENDING:
            continue
        if field == "webhook_status" and not settings.SLA_WEBHOOK_URL:
            setattr(notification, field, Delivery.SKIPPED)  # unset since the row was made
            continue
        try:
            send(notification)
            setattr(notification, field, Delivery.SENT)
        except SoftTimeLimitExceeded:  # the task's time is up: not a failure of this channel
            raise
        except Exception as exc:  # SMTP, DNS, timeouts, 5xx: all worth another try
            errors.append(_error_text(field.removesuffix("_status"), exc))
            if final:
                setattr(notification, field, Delivery.FAILED)
    notification.attempts += 1
    if errors:
        notification.last_error = "; ".join(errors)[:ERROR_MAX_CHARS]
    notification.updated_at = now
    notification.save(update_fields=["email_status", "webhook_status", "attempts", "last_error", "updated_at"])


def notification_deliver(*, notification_ids: list, final: bool = False, now: datetime | None = None) -> list[str]:
    """Delivers each pending channel of each row and returns the ids still pending (to retry).

    Each row is locked while it is delivered (a concurrent delivery of the same row skips it),
    so a channel is sent at most once per success. A failure increments `attempts` and records
    `last_error`; with `final` (the task's last try) the failed channel becomes `failed`.
    Raises DeliveryInterrupted when the task's soft time limit strikes.
    """
    now = now or timezone.now()
    still_pending: list[str] = []
    for position, notification_id in enumerate(notification_ids):
        try:
            with transaction.atomic():
                notification = (
                    Notification.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("recipient", "ticket")
                    .filter(pk=notification_id)
                    .first()
                )
                if notification is None or not notification.delivery_pending:
                    continue
                _deliver_one(notification, final=final, now=now)
        except SoftTimeLimitExceeded as exc:
            raise DeliveryInterrupted(list(notification_ids[position + 1 :])) from exc
        if notification.delivery_pending:
            still_pending.append(str(notification.pk))
    if still_pending:
        logger.warning("notification delivery failed; will retry", extra={"notifications": len(still_pending)})
    return still_pending


def notification_redrive(*, now: datetime | None = None) -> int:
    """Re-enqueues up to REDRIVE_BATCH rows with a channel still pending and untouched for
    REDRIVE_AFTER; returns how many. Touching `updated_at` keeps the next run from re-enqueuing
    them again while they wait in the queue."""
    from tickets.tasks import notification_deliver_task

    now = now or timezone.now()
    pending = Notification.objects.filter(Q(email_status=Delivery.PENDING) | Q(webhook_status=Delivery.PENDING))
    return redrive(
        pending,
        task=notification_deliver_task,
        after=REDRIVE_AFTER,
        now=now,
        batch=REDRIVE_BATCH,
        touch={"updated_at": now},
    )
