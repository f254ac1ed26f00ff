# Each ticket's warning instant, fixed when its clock starts (as its due time already was), so
# that "at risk" has one definition: the badge, the admin filter, the dashboard and the metrics
# gauge read it, and a later policy change no longer makes them disagree. Existing tickets get
# the instant the SLA sweep used for them until now (their tier's current warning threshold).
# The nullable column is added without rewriting the table; the backfill commits every
# BATCH rows (the migration is not atomic), so concurrent ticket writes wait for one batch at
# most; the index is built CONCURRENTLY.

from django.db import migrations, models

from techsupport.migration_operations import AddIndexConcurrentlyWhereSupported

DEFAULT_THRESHOLD = 0.8
BATCH = 10_000


def _thresholds(SlaPolicy) -> dict[str, float]:
    thresholds = {"VIP": DEFAULT_THRESHOLD, "NORMAL": DEFAULT_THRESHOLD}
    thresholds.update({row.client_type: min(max(row.warning_threshold, 0.0), 1.0) for row in SlaPolicy.objects.all()})
    return thresholds


def _backfill_postgresql(connection, thresholds: dict[str, float]) -> None:
    """In primary-key ranges of BATCH rows, each committed on its own."""
    fraction = "CASE client_type " + " ".join("WHEN %s THEN %s" for _ in thresholds) + " ELSE %s END"
    cases = [value for pair in thresholds.items() for value in pair] + [DEFAULT_THRESHOLD]
    last = "00000000-0000-0000-0000-000000000000"
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT max(id::text) FROM (SELECT id FROM tickets_ticket WHERE id > %s ORDER BY id LIMIT %s) s",
                [last, BATCH],
            )
            upper = cursor.fetchone()[0]
            if upper is None:
                return
            cursor.execute(
                f"UPDATE tickets_ticket SET sla_warning_at = created_at + (sla_due_at - created_at) * ({fraction})"
                " WHERE id > %s AND id <= %s AND sla_due_at IS NOT NULL AND sla_warning_at IS NULL",
                [*cases, last, upper],
            )
            last = upper


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    thresholds = _thresholds(apps.get_model("tickets", "SlaPolicy"))
    if schema_editor.connection.vendor == "postgresql":
        _backfill_postgresql(schema_editor.connection, thresholds)
        return
    pending = Ticket.objects.filter(sla_due_at__isnull=False, sla_warning_at__isnull=True)
    batch = []
    for ticket in pending.only("id", "client_type", "created_at", "sla_due_at").iterator(chunk_size=2000):
        fraction = thresholds.get(ticket.client_type, DEFAULT_THRESHOLD)
        ticket.sla_warning_at = ticket.created_at + (ticket.sla_due_at - ticket.created_at) * fraction
        batch.append(ticket)
        if len(batch) == 2000:
            Ticket.objects.bulk_update(batch, ["sla_warning_at"])
            batch = []
    Ticket.objects.bulk_update(batch, ["sla_warning_at"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0005_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="sla_warning_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA warning at"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("sla_breached_at__isnull", True),
                    ("sla_warning_at__isnull", False),
                    models.Q(("status__in", ["CLOSED", "RESOLVED"]), _negated=True),
                ),
                fields=["sla_warning_at"],
                name="ticket_live_unstamped_warn_idx",
            ),
        ),
    ]
