import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_once(settings, capsys):
    settings.DEFAULT_ADMIN_EMAIL = "Boss@Example.com"
    settings.DEFAULT_ADMIN_PASSWORD = "A-Long-Unique-Passphrase"

    call_command("ensure_admin")
    call_command("ensure_admin")

    out = capsys.readouterr().out
    assert "Created admin boss@example.com." in out
    assert "already exists" in out
    admin = User.objects.get()
    assert (admin.email, admin.role, admin.is_staff, admin.is_superuser) == ("boss@example.com", "ADMIN", True, True)
    assert admin.check_password("A-Long-Unique-Passphrase")


def test_ensure_admin_allows_default_password_in_local_mode(settings):
    settings.DEBUG = True
    settings.DEFAULT_ADMIN_EMAIL = "admin@techsupport.pro"
    settings.DEFAULT_ADMIN_PASSWORD = "admin123"

    call_command("ensure_admin")

    assert User.objects.get().check_password("admin123")


def test_ensure_admin_refuses_default_password_with_debug_off(settings):
    settings.DEBUG = False
    settings.DEFAULT_ADMIN_EMAIL = "admin@techsupport.pro"
    settings.DEFAULT_ADMIN_PASSWORD = "admin123"

    with pytest.raises(CommandError, match="default password"):
        call_command("ensure_admin")

    assert not User.objects.exists()


def test_ensure_admin_needs_configuration(settings):
    settings.DEFAULT_ADMIN_EMAIL = ""
    settings.DEFAULT_ADMIN_PASSWORD = ""

    with pytest.raises(CommandError, match="DEFAULT_ADMIN_EMAIL"):
        call_command("ensure_admin")
