# Auto-assignment (docs/adr/0013-auto-assignment.md): the tier's opt-in, the agents' last
# assignment read back from the audit trail (the tie-break between equally loaded agents), and
# an index on the agents' open work, built CONCURRENTLY on PostgreSQL so a live table keeps
# taking writes.

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max

from techsupport.migration_operations import AddIndexConcurrentlyWhereSupported


def last_assigned_backfill(apps, schema_editor):
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    User = apps.get_model("accounts", "User")
    latest = (
        TicketEvent.objects.filter(kind="assigned", data__toAgentId__isnull=False)
        .values("data__toAgentId")
        .annotate(last=Max("created_at"))
        .values_list("data__toAgentId", "last")
    )
    for agent_id, last in latest:
        User.objects.filter(pk=agent_id, last_assigned_at__isnull=True).update(last_assigned_at=last)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0006_sla_warning_at"),
        ("accounts", "0004_user_auto_assignment"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="slapolicy",
            name="auto_assign",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "New tickets of this tier, and tickets of it that become escalated with no agent, go to the "
                    "eligible agent with the fewest open tickets."
                ),
                verbose_name="auto-assign",
            ),
        ),
        migrations.RunPython(last_assigned_backfill, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("agent__isnull", False),
                    ("status__in", ("OPEN", "IN_PROGRESS", "ESCALATED", "WAITING_CUSTOMER")),
                ),
                fields=["agent", "created_at"],
                name="ticket_agent_open_idx",
            ),
        ),
    ]
