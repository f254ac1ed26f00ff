# Indexes for the ticket list at 1M tickets (docs/adr/0010-list-counts.md), built CONCURRENTLY
# on PostgreSQL so a live table keeps taking writes; the new client/agent indexes are in place
# before the old ones go, so the foreign keys are never without one.

from django.conf import settings
from django.db import migrations, models

from techsupport.migration_operations import (
    AddIndexConcurrentlyWhereSupported,
    RemoveIndexConcurrentlyWhereSupported,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0004_commented_event_and_sla_labels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                fields=["client", "created_at", "id"], include=("deleted_at",), name="ticket_client_live_idx"
            ),
        ),
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                fields=["agent", "created_at", "id"], include=("deleted_at",), name="ticket_agent_live_idx"
            ),
        ),
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("sla_breached_at__isnull", False)),
                fields=["created_at", "id"],
                name="ticket_live_breached_idx",
            ),
        ),
        AddIndexConcurrentlyWhereSupported(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("sla_breached_at__isnull", True),
                    models.Q(("status__in", ["CLOSED", "RESOLVED"]), _negated=True),
                ),
                fields=["sla_due_at"],
                name="ticket_live_unstamped_due_idx",
            ),
        ),
        RemoveIndexConcurrentlyWhereSupported(
            model_name="ticket",
            name="ticket_client_created_idx",
        ),
        RemoveIndexConcurrentlyWhereSupported(
            model_name="ticket",
            name="ticket_agent_created_idx",
        ),
    ]
