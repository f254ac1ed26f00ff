"""Stores every user's email in its normalised form (accounts/email_address.py), so equality
and the unique constraint on `email` are the uniqueness rule.

Two existing accounts whose emails normalise alike cannot both keep their address: the
migration stops and names them, for an operator to merge or rename one, then migrate again.
The users table is small (people, not tickets), so this runs in one pass."""

from django.db import migrations

from accounts.email_address import email_normalize


def emails_normalize(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    by_key: dict[str, list[str]] = {}
    for email in User.objects.values_list("email", flat=True):
        by_key.setdefault(email_normalize(email), []).append(email)
    clashes = [sorted(emails) for emails in by_key.values() if len(emails) > 1]
    if clashes:
        raise RuntimeError(
            "These accounts have emails that are the same address once normalised; merge or "
            f"rename one of each group, then migrate again: {clashes}"
        )
    for key, (email,) in by_key.items():
        if key != email:
            User.objects.filter(email=email).update(email=key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_token_version"),
    ]

    operations = [
        migrations.RunPython(emails_normalize, migrations.RunPython.noop),
    ]
