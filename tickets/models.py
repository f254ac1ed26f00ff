"""Clients, tickets, their audit trail and the SLA policy per client tier.

Writes go through tickets/services.py; nothing else changes a ticket's status, agent or SLA
clock, so the transition table (tickets/states.py) and the audit trail cannot be bypassed.
"""

import math
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.roles import Role
from tickets import calendars, sla
from tickets.states import CLOCK_STOPPED, FINISHED, UNFINISHED, ClientType, TicketStatus

MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 1, 5, 3
LIVE = Q(deleted_at__isnull=True)


def validate_finite(value: float) -> None:
    # Range validators let NaN through: every comparison with it is false.
    if not math.isfinite(value):
        raise ValidationError("Must be a finite number.", code="not_finite")


class Client(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    type = models.CharField(max_length=8, choices=ClientType.choices, default=ClientType.NORMAL)
    company = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="client_email_unique_ci"),
            models.CheckConstraint(condition=Q(type__in=ClientType.values), name="client_type_valid"),
        ]
        indexes = [models.Index(fields=["type", "name"], name="client_type_name_idx")]

    def __str__(self):
        return f"{self.name} ({self.type})"


class TicketQuerySet(models.QuerySet):
    def alive(self):
        """Tickets not soft-deleted: everything the API shows."""
        return self.filter(LIVE)


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField()
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    priority = models.PositiveSmallIntegerField(
        default=DEFAULT_PRIORITY, validators=[MinValueValidator(MIN_PRIORITY), MaxValueValidator(MAX_PRIORITY)]
    )
    # The composite indexes below lead with these columns; a second single-column index would
    # only slow the writes down.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    # The client's tier, copied here (kept in step by `client_update`): the tier filter and the
    # per-tier SLA work then need no join, and can use an index.
    client_type = models.CharField(max_length=8, choices=ClientType.choices, editable=False)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        null=True,
        blank=True,
        db_index=False,
        limit_choices_to={"role": Role.AGENT, "is_active": True},
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_time_min = models.FloatField("resolution time (minutes)", null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # SLA clock. `sla_due_at` and `sla_warning_at` are fixed when the clock starts, from the
    # policy of that moment: "at risk" (past the warning, not yet due) is read from them alone,
    # by the badge, the admin filter, the dashboard and the metrics gauge (tickets/selectors.py
    # `at_risk_q`, tickets/sla.py `is_at_risk`), and a later policy change does not move them.
    # `sla_next_check_at` is the instant of the next SLA action (warning, breach,
    # re-escalation), NULL while the clock is stopped (RESOLVED, CLOSED, deleted).
    sla_due_at = models.DateTimeField("SLA due at", null=True, blank=True)
    sla_warning_at = models.DateTimeField("SLA warning at", null=True, blank=True)
    sla_breached_at = models.DateTimeField("SLA breached at", null=True, blank=True)
    sla_next_check_at = models.DateTimeField("next SLA check at", null=True, blank=True)
    # The paused clock (WAITING_CUSTOMER): when the pause started, and the next check it held
    # then; leaving the status moves the due instants and that check by the paused time
    # (tickets/services.py `_clock_resume`). `sla_paused_minutes` sums the ticket's pauses.
    sla_paused_at = models.DateTimeField("SLA paused at", null=True, blank=True)
    sla_paused_next_check_at = models.DateTimeField("next SLA check when resumed", null=True, blank=True)
    sla_paused_minutes = models.FloatField("SLA paused (minutes)", default=0, db_default=0)
    # Two targets share the sweep: `sla_next_check_at` is the earliest pending instant of both.
    # `sla_resolution_check_at` is the resolution target's own next step (warning, breach,
    # re-escalation); the first response's pending instant follows from the fields below. A
    # ticket without a first-response target (created before it existed) keeps its resolution
    # step in `sla_next_check_at` alone (`Ticket.resolution_check_at`).
    sla_resolution_check_at = models.DateTimeField("next resolution check at", null=True, blank=True)
    first_response_due_at = models.DateTimeField("first response due at", null=True, blank=True)
    first_response_warning_at = models.DateTimeField("first response warning at", null=True, blank=True)
    first_response_warned_at = models.DateTimeField("first response warned at", null=True, blank=True)
    first_response_breached_at = models.DateTimeField("first response breached at", null=True, blank=True)
    first_responded_at = models.DateTimeField("first responded at", null=True, blank=True)
    # Incremented by every write (the services and the SLA sweep): the ticket's ETag. A change
    # sent with `If-Match` is refused (409) once the ticket has moved past the version it read.
    # A plain integer: a CHECK (>= 0) would make adding the column scan the whole table.
    version = models.IntegerField(default=1, editable=False)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=MIN_PRIORITY, priority__lte=MAX_PRIORITY), name="ticket_priority_range"
            ),
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"),
        ]
        indexes = [
            # Newest-first pages, unfiltered and per filter; `id` makes the order total so
            # pagination is stable and the index alone delivers the order.
            models.Index(fields=["created_at", "id"], condition=LIVE, name="ticket_live_created_idx"),
            models.Index(fields=["status", "created_at", "id"], condition=LIVE, name="ticket_live_status_idx"),
            models.Index(fields=["priority", "created_at", "id"], condition=LIVE, name="ticket_live_priority_idx"),
            models.Index(fields=["client_type", "created_at", "id"], condition=LIVE, name="ticket_live_tier_idx"),
            # Narrow (and deduplicated: few distinct keys) so that counting live tickets, the
            # `total` of every unfiltered or status-filtered page, is a small index-only scan.
            models.Index(fields=["status"], condition=LIVE, name="ticket_live_count_idx"),
            # Not partial: they also serve the foreign keys (PROTECT checks, admin filters). The
            # included `deleted_at` lets a list's deep page walk them index-only.
            models.Index(fields=["client", "created_at", "id"], include=["deleted_at"], name="ticket_client_live_idx"),
            models.Index(fields=["agent", "created_at", "id"], include=["deleted_at"], name="ticket_agent_live_idx"),
            # The partial indexes below exclude FINISHED, not CLOCK_STOPPED: a query excluding
            # the wider CLOCK_STOPPED set implies their predicate, so they serve it unchanged
            # (and WAITING_CUSTOMER did not rebuild them).
            # An agent's open work (auto-assignment's count under the agent's lock, the agent-load
            # report's count and oldest): index-only, and only as large as the open tickets.
            models.Index(
                fields=["agent", "created_at"],
                condition=LIVE & Q(status__in=UNFINISHED, agent__isnull=False),
                name="ticket_agent_open_idx",
            ),
            # `slaBreached=true` is two disjoint ranges (tickets/selectors.py): breaches the sweep
            # or a late resolution stamped, newest first; and running tickets past due that no
            # sweep has stamped yet (a minute's worth), by due time.
            models.Index(
                fields=["created_at", "id"],
                condition=LIVE & Q(sla_breached_at__isnull=False),
                name="ticket_live_breached_idx",
            ),
            models.Index(
                fields=["sla_due_at"],
                condition=LIVE & Q(sla_breached_at__isnull=True) & ~Q(status__in=sorted(FINISHED)),
                name="ticket_live_unstamped_due_idx",
            ),
            # "At risk": running, unstamped tickets past their warning instant (tickets/selectors.py).
            # `sla_warning_at IS NOT NULL` (implied by at_risk_q's range) keeps the planner from
            # taking it for the breached list's unstamped branch above.
            models.Index(
                fields=["sla_warning_at"],
                condition=LIVE
                & Q(sla_breached_at__isnull=True, sla_warning_at__isnull=False)
                & ~Q(status__in=sorted(FINISHED)),
                name="ticket_live_unstamped_warn_idx",
            ),
            # The SLA sweep: "what is due now?" is a range scan over running clocks only.
            models.Index(
                fields=["sla_next_check_at"],
                condition=Q(sla_next_check_at__isnull=False),
                name="ticket_sla_next_check_idx",
            ),
            models.Index(fields=["sla_due_at"], name="ticket_sla_due_idx"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Callers that build a Ticket directly still get the tier (bulk_create does not: set it).
        if not self.client_type and self.client_id:
            self.client_type = self.client.type
        super().save(*args, **kwargs)

    @property
    def clock_running(self) -> bool:
        return self.deleted_at is None and self.status not in CLOCK_STOPPED

    @property
    def resolution_check_at(self):
        """The resolution target's next SLA step (see `sla_resolution_check_at`)."""
        return self.sla_next_check_at if self.first_response_due_at is None else self.sla_resolution_check_at

    @property
    def first_response_pending(self) -> bool:
        """A first-response target not met yet and not breached yet."""
        return (
            self.first_response_due_at is not None
            and self.first_responded_at is None
            and (self.first_response_breached_at is None)
        )


class TicketEvent(models.Model):
    """Append-only audit trail: who did what to a ticket, and when. `actor` NULL = the system."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        DELETED = "deleted", "Deleted"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breach"
        ESCALATED = "escalated", "Escalated"
        COMMENTED = "commented", "Commented"

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticketevent_ticket_created_idx")]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status}".strip()


def validate_time_zone(value: str) -> None:
    try:
        calendars.zone_check(value)
    except calendars.CalendarError as exc:
        raise ValidationError(list(exc.errors.values()), code="invalid_time_zone") from exc


def validate_weekly_hours(value) -> None:
    """Field validators, not `Model.clean`: the admin form edits the week as seven day fields
    and validates them itself (a form excludes a field it does not show from these checks)."""
    try:
        calendars.weekly_parse(value)
    except calendars.CalendarError as exc:
        messages = [m if key == "weekly_hours" else f"{key}: {m}" for key, m in exc.errors.items()]
        raise ValidationError(messages, code="invalid_weekly_hours") from exc


class BusinessCalendar(models.Model):
    """Working hours per weekday in one IANA time zone, and holidays (`Holiday`): an SLA policy
    that names a calendar counts only its open hours (tickets/calendars.py)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA time zone, e.g. Europe/Madrid."
    )
    # {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ...}: local wall-clock intervals
    # [start, end), 00:00 to 24:00, no overlaps; a missing day is closed (calendars.weekly_parse).
    weekly_hours = models.JSONField(default=dict, validators=[validate_weekly_hours])
    # Moved by every change of the calendar or of one of its holidays: the key of the per-process
    # cache of its CalendarSpec (`spec`), so every process sees a change at its next read.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.time_zone})"

    def spec(self) -> calendars.CalendarSpec:
        """The immutable value the arithmetic works on, cached per process and `updated_at`."""
        key = (self.pk, self.updated_at)
        spec = _CALENDAR_SPECS.get(key)
        if spec is None:
            holidays = frozenset(self.holidays.values_list("date", flat=True))
            spec = calendars.CalendarSpec(self.time_zone, calendars.weekly_parse(self.weekly_hours), holidays)
            if len(_CALENDAR_SPECS) >= _CALENDAR_SPECS_MAX:
                _CALENDAR_SPECS.clear()
            _CALENDAR_SPECS[key] = spec
        return spec


_CALENDAR_SPECS: dict[tuple, calendars.CalendarSpec] = {}
_CALENDAR_SPECS_MAX = 256


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_calendar_date_unique")]

    def __str__(self):
        return f"{self.date.isoformat()} {self.name}".strip()


@receiver([post_save, post_delete], sender=Holiday, dispatch_uid="holiday_calendar_touch")
def _holiday_changed(sender, instance: Holiday, **kwargs):
    """A holiday changed: its calendar's `updated_at` moves, so cached specs are rebuilt."""
    BusinessCalendar.objects.filter(pk=instance.calendar_id).update(updated_at=timezone.now())


class SlaPolicy(models.Model):
    """The SLA of one client tier, editable by supervisors in the admin."""

    class BreachAction(models.TextChoices):
        ESCALATE = "ESCALATE", "Escalate automatically"
        NOTIFY = "NOTIFY", "Notify supervisors"

    # Bounded here and in the database (sla.MIN_/MAX_*): a target of 100,000,000 hours put every
    # due time past year 9999. The CHECK constraints also hold for raw SQL and data migrations.
    client_type = models.CharField(max_length=8, choices=ClientType.choices, unique=True)
    target_hours = models.FloatField(
        validators=[
            validate_finite,
            MinValueValidator(sla.MIN_TARGET_HOURS),
            MaxValueValidator(sla.MAX_TARGET_HOURS),
        ],
        help_text=f"{sla.MIN_TARGET_HOURS:g} to {sla.MAX_TARGET_HOURS:g} hours (one year).",
    )
    breach_action = models.CharField(max_length=16, choices=BreachAction.choices)
    escalation_ceiling = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(sla.MIN_ESCALATION_CEILING), MaxValueValidator(sla.MAX_ESCALATION_CEILING)],
        help_text="The highest escalation level the SLA sweep raises a ticket to.",
    )
    warning_threshold = models.FloatField(
        default=0.8,
        validators=[
            validate_finite,
            MinValueValidator(sla.MIN_WARNING_THRESHOLD),
            MaxValueValidator(sla.MAX_WARNING_THRESHOLD),
        ],
        help_text="Share of the window after which the SLA warning goes out (0.8 = 80 %).",
    )
    auto_assign = models.BooleanField(
        "auto-assign",
        default=False,
        help_text=(
            "New tickets of this tier, and tickets of it that become escalated with no agent, go to the "
            "eligible agent with the fewest open tickets."
        ),
    )
    first_response_minutes = models.PositiveIntegerField(
        default=240,
        validators=[
            MinValueValidator(sla.MIN_FIRST_RESPONSE_MINUTES),
            MaxValueValidator(sla.MAX_FIRST_RESPONSE_MINUTES),
        ],
        help_text=(
            f"{sla.MIN_FIRST_RESPONSE_MINUTES} to {sla.MAX_FIRST_RESPONSE_MINUTES} minutes: the first agent action "
            "is due this long after creation (warned at the same threshold). Its breach notifies supervisors."
        ),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Business hours the SLA clock counts; empty = around the clock (24x7).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_type"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(target_hours__gte=sla.MIN_TARGET_HOURS, target_hours__lte=sla.MAX_TARGET_HOURS),
                name="slapolicy_target_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    warning_threshold__gte=sla.MIN_WARNING_THRESHOLD, warning_threshold__lte=sla.MAX_WARNING_THRESHOLD
                ),
                name="slapolicy_warning_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    escalation_ceiling__gte=sla.MIN_ESCALATION_CEILING,
                    escalation_ceiling__lte=sla.MAX_ESCALATION_CEILING,
                ),
                name="slapolicy_escalation_ceiling_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    first_response_minutes__gte=sla.MIN_FIRST_RESPONSE_MINUTES,
                    first_response_minutes__lte=sla.MAX_FIRST_RESPONSE_MINUTES,
                ),
                name="slapolicy_first_response_minutes_range",
            ),
        ]

    def __str__(self):
        return f"{self.client_type}: {self.target_hours:g} h, {self.get_breach_action_display().lower()}"

    def as_values(self) -> sla.PolicyValues:
        return sla.PolicyValues(
            target_hours=self.target_hours,
            breach_action=self.breach_action,
            escalation_ceiling=self.escalation_ceiling,
            warning_threshold=self.warning_threshold,
            auto_assign=self.auto_assign,
            first_response_minutes=self.first_response_minutes,
            # Read with select_related("calendar") by the callers: no query per policy.
            calendar=self.calendar.spec() if self.calendar_id else None,
        )


class Notification(models.Model):
    """One message to one person (an SLA event, or an agent losing an escalated ticket), and
    the outbox of its deliveries (tickets/notifications.py).

    Inserted in the transaction that applied the warning, breach, escalation or unassignment,
    so a crash between the commit and the enqueue of its delivery loses nothing:
    `notification_redrive_task` re-enqueues rows still pending. The webhook is one POST per
    sweep event, not per recipient: only the event's first row carries `webhook_status`
    pending, the others `skipped`.
    """

    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breach"
        SLA_ESCALATION = "sla_escalation", "SLA escalation"
        # The agent lost an escalated ticket: their level is below the one it needs.
        UNASSIGNED = "unassigned", "Unassigned"

    class Delivery(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retries exhausted)"
        SKIPPED = "skipped", "Skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    # Facts at the time of the event (tier, level, due time) for the email and webhook bodies.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.PENDING)
    webhook_status = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.SKIPPED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Last delivery attempt or re-drive: the re-drive waits from here.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "My notifications, newest first" (and the unread filter on top of it).
            models.Index(fields=["recipient", "created_at", "id"], name="notification_recipient_idx"),
            # The re-drive scans undelivered rows only; delivered ones are the vast majority.
            models.Index(
                fields=["updated_at"],
                condition=Q(email_status="pending") | Q(webhook_status="pending"),
                name="notification_pending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.kind} → {self.recipient_id}"

    @property
    def delivery_pending(self) -> bool:
        return self.Delivery.PENDING in (self.email_status, self.webhook_status)
