"""The user pages of the admin back-office go through the account rules too."""

import pytest
from django.test import Client as DjangoClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.roles import SUPERVISORS_GROUP
from accounts.services import auth_login
from tests.accounts.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def back_office(admin_user):
    browser = DjangoClient()
    browser.force_login(admin_user)
    return browser


def _change(browser, user, **fields):
    data = {"email": user.email, "name": user.name, "role": user.role, "level": user.level, "is_active": "on"}
    data.update(fields)
    return browser.post(f"/admin/accounts/user/{user.pk}/change/", {k: v for k, v in data.items() if v is not None})


def test_promoting_to_supervisor_in_the_admin_joins_the_supervisors_group(back_office, agent):
    response = _change(back_office, agent, role="SUPERVISOR")

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role == "SUPERVISOR"
    assert list(agent.groups.values_list("name", flat=True)) == [SUPERVISORS_GROUP]

    _change(back_office, agent, role="AGENT")
    assert list(agent.groups.values_list("name", flat=True)) == []


def test_deactivating_in_the_admin_revokes_refresh_tokens(back_office, agent):
    auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    response = _change(back_office, agent, is_active=None)

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.is_active is False
    assert (
        BlacklistedToken.objects.filter(token__user=agent).count()
        == OutstandingToken.objects.filter(user=agent).count()
        == 1
    )


def test_adding_a_supervisor_in_the_admin_joins_the_supervisors_group(back_office):
    response = back_office.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Boss@example.com",
            "name": "New Boss",
            "role": "SUPERVISOR",
            "level": "1",
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
        },
    )

    assert response.status_code == 302
    boss = User.objects.get(email="new.boss@example.com")
    assert list(boss.groups.values_list("name", flat=True)) == [SUPERVISORS_GROUP]


def test_admin_add_form_refuses_a_case_variant_of_a_taken_email(back_office, agent):
    response = back_office.post(
        "/admin/accounts/user/add/",
        {
            "email": agent.email.upper(),
            "role": "AGENT",
            "level": "1",
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["email"]
