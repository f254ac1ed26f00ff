"""One normalisation of emails (NFKC + casefold) for storage, lookup and the login limit: a
Unicode look-alike is the same account, the same rate-limit budget and a duplicate."""

import importlib

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as DjangoClient
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.email_address import email_normalize
from accounts.models import User
from accounts.services import admin_ensure
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LONG_S = "agent3@tech\u017fupport.pro"  # U+017F LATIN SMALL LETTER LONG S
PLANCK = "agent3@tec\u210esupport.pro"  # U+210E PLANCK CONSTANT, NFKC "h"
FULLWIDTH = "agent3@techsupport.\uff50ro"  # U+FF50 FULLWIDTH LATIN SMALL LETTER P
SOFT_HYPHEN = "agent3@tech\u00adsupport.pro"  # invisible
SPELLINGS = [LONG_S, PLANCK, FULLWIDTH, SOFT_HYPHEN, "AGENT3@TechSupport.PRO", " agent3@techsupport.pro\u3000"]


@pytest.fixture
def agent3(db):
    return UserFactory(email="agent3@techsupport.pro")


def _login(email, password="wrong-password", ip="10.0.0.1"):  # noqa: S107 - a wrong one on purpose
    return APIClient().post("/api/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_normalises_to_the_stored_address(spelling):
    assert email_normalize(spelling) == "agent3@techsupport.pro"


@pytest.mark.parametrize(
    "value", [*SPELLINGS, "Stra\u00dfe@x.com", "\u0130@x.com", "\ufb00@x.com", "adm\u0131n@x.com", "\u2126@x.com", ""]
)
def test_normalising_is_idempotent(value):
    assert email_normalize(email_normalize(value)) == email_normalize(value)


def test_a_dotless_i_is_not_folded_into_an_i():
    """PostgreSQL's UPPER() made 'adm\u0131n' match 'admin'; plain equality of normalised forms does not."""
    assert email_normalize("adm\u0131n@x.com") != email_normalize("admin@x.com")


@override_settings(LOGIN_RATE_LIMIT_EMAIL="3/m", LOGIN_RATE_LIMIT_IP="1000/m")
def test_a_look_alike_shares_the_per_email_login_budget(agent3):
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert _login("agent3@techsupport.pro", ip=ip).status_code == 401

    for ip, spelling in enumerate(SPELLINGS, start=10):
        response = _login(spelling, password=DEFAULT_PASSWORD, ip=f"10.0.0.{ip}")
        assert response.status_code == 429, spelling


@override_settings(LOGIN_RATE_LIMIT_EMAIL="3/m", LOGIN_RATE_LIMIT_IP="1000/m")
def test_look_alike_attempts_spend_the_real_addresses_budget(agent3):
    for ip, spelling in enumerate([LONG_S, PLANCK, FULLWIDTH], start=1):
        assert _login(spelling, ip=f"10.0.1.{ip}").status_code == 401

    assert _login("agent3@techsupport.pro", password=DEFAULT_PASSWORD, ip="10.0.1.9").status_code == 429


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_look_alike_signs_in_to_the_same_account(agent3, spelling):
    response = _login(spelling, password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    me = APIClient().get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['accessToken']}")
    assert me.json()["id"] == str(agent3.pk)


REGISTER = {"password": "Str0ng-Passphrase!", "role": "AGENT"}


@pytest.mark.parametrize("spelling", [LONG_S, PLANCK, FULLWIDTH, SOFT_HYPHEN])
def test_registering_a_look_alike_of_a_taken_email_is_409(admin_client, agent3, spelling):
    response = admin_client.post("/api/auth/register", {**REGISTER, "email": spelling}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert User.objects.filter(email__icontains="agent3").count() == 1


def test_registration_stores_the_normalised_email(admin_client):
    response = admin_client.post("/api/auth/register", {**REGISTER, "email": "Nina@Stra\u00dfe.example"}, format="json")

    assert response.status_code == 201
    assert response.json()["email"] == "nina@strasse.example"
    assert User.objects.get(pk=response.json()["id"]).email == "nina@strasse.example"


def test_an_email_too_long_once_normalised_is_400_not_a_database_error(admin_client):
    """NFKC turns the ligature U+FB00 into "ff": 188 characters as sent, 308 as stored, over
    the column's 254."""
    email = "a" * 60 + "@" + ("\ufb00" * 30 + ".") * 4 + "com"

    response = admin_client.post("/api/auth/register", {**REGISTER, "email": email}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == {"email"}
    assert not User.objects.filter(role="AGENT").exists()


def test_the_model_normalises_whatever_path_saves_it():
    user = User.objects.create_user(FULLWIDTH.upper(), password=DEFAULT_PASSWORD)
    assert user.email == "agent3@techsupport.pro"

    user.email = PLANCK
    user.save()

    assert User.objects.get(pk=user.pk).email == "agent3@techsupport.pro"


def test_the_admin_add_form_refuses_a_look_alike_of_a_taken_email(admin_user, agent3):
    browser = DjangoClient()
    browser.force_login(admin_user)

    response = browser.post(
        "/admin/accounts/user/add/",
        {"email": LONG_S, "role": "AGENT", "level": "1", "password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD},
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["email"]
    assert User.objects.filter(role="AGENT").count() == 1


def test_createsuperuser_refuses_a_look_alike_of_a_taken_email(agent3, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEFAULT_PASSWORD)

    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, email=PLANCK, verbosity=0)

    call_command("createsuperuser", interactive=False, email="Boss@Example.COM", verbosity=0)
    assert User.objects.get(role="ADMIN").email == "boss@example.com"


def test_ensure_admin_finds_the_admin_under_a_look_alike(agent3):
    user, created = admin_ensure(email=LONG_S, password="A-Long-Unique-Passphrase")

    assert (user.pk, created) == (agent3.pk, False)


def test_the_admin_login_page_uses_the_same_normalisation(supervisor):
    browser = DjangoClient()

    response = browser.post("/admin/login/", {"username": "SUPER@\uff45xample.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


@override_settings(LOGIN_RATE_LIMIT_EMAIL="2/m", LOGIN_RATE_LIMIT_IP="1000/m")
def test_the_admin_login_page_shares_the_budget_of_look_alikes(agent3):
    for ip, spelling in enumerate([LONG_S, PLANCK], start=1):
        response = DjangoClient(REMOTE_ADDR=f"10.0.2.{ip}").post(
            "/admin/login/", {"username": spelling, "password": "wrong"}
        )
        assert response.status_code == 200

    assert _login("agent3@techsupport.pro", password=DEFAULT_PASSWORD, ip="10.0.2.9").status_code == 429


MIGRATION = importlib.import_module("accounts.migrations.0003_user_email_normalized")


def test_the_data_migration_normalises_stored_emails(agent3):
    from django.apps import apps

    other = UserFactory(email="other@example.com")
    User.objects.filter(pk=agent3.pk).update(email=LONG_S)  # as stored before normalisation
    User.objects.filter(pk=other.pk).update(email="Other@Example.com")

    MIGRATION.emails_normalize(apps, None)

    assert User.objects.get(pk=agent3.pk).email == "agent3@techsupport.pro"
    assert User.objects.get(pk=other.pk).email == "other@example.com"


def test_the_data_migration_stops_on_accounts_that_become_one(agent3):
    from django.apps import apps

    twin = UserFactory(email="twin@example.com")
    User.objects.filter(pk=twin.pk).update(email=PLANCK)

    with pytest.raises(RuntimeError, match="merge or rename") as refused:
        MIGRATION.emails_normalize(apps, None)

    assert PLANCK in str(refused.value)
    assert set(User.objects.values_list("email", flat=True)) == {"agent3@techsupport.pro", PLANCK}
