"""Installs the contract's SLA policies: VIP 2 h (escalate on breach), NORMAL 24 h (notify).
Values are copied here, not imported, so this migration never changes with the code."""

from django.db import migrations

DEFAULTS = [
    {"client_type": "VIP", "target_hours": 2.0, "breach_action": "ESCALATE"},
    {"client_type": "NORMAL", "target_hours": 24.0, "breach_action": "NOTIFY"},
]


def install_defaults(apps, schema_editor):
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    for values in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            client_type=values["client_type"],
            defaults={**values, "escalation_ceiling": 3, "warning_threshold": 0.8},
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(install_defaults, migrations.RunPython.noop)]
