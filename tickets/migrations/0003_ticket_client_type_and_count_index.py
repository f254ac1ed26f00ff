"""Copies the client's tier onto each ticket (tier filter without a join) and adds the narrow
index that serves counts of live tickets."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_client_type(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # One UPDATE over every ticket may outlast the app's statement timeout; this
        # transaction only.
        schema_editor.execute("SET LOCAL statement_timeout = 0")
    Ticket = apps.get_model("tickets", "Ticket")
    Client = apps.get_model("tickets", "Client")
    Ticket.objects.update(client_type=Subquery(Client.objects.filter(pk=OuterRef("client_id")).values("type")[:1]))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_sla_policy_defaults")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="client_type",
            field=models.CharField(
                choices=[("VIP", "VIP"), ("NORMAL", "Normal")], default="NORMAL", editable=False, max_length=8
            ),
            preserve_default=False,
        ),
        migrations.RunPython(copy_client_type, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["client_type", "created_at", "id"],
                name="ticket_live_tier_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)), fields=["status"], name="ticket_live_count_idx"
            ),
        ),
    ]
