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


# --- Auto-assignment: supervisors send agents on leave and back -------------------------------
@pytest.fixture
def supervisor_office(supervisor):
    from accounts.services import supervisors_group_sync

    supervisor.groups.add(supervisors_group_sync())
    browser = DjangoClient()
    browser.force_login(supervisor)
    return browser


def test_the_users_list_shows_and_filters_by_the_auto_assignment_flag(supervisor_office, agent):
    from tests.accounts.factories import UserFactory

    on_leave = UserFactory(email="leave@example.com", accepts_auto_assignment=False)

    listed = supervisor_office.get("/admin/accounts/user/", {"accepts_auto_assignment__exact": "0"})

    assert listed.status_code == 200
    assert [user.pk for user in listed.context["cl"].result_list] == [on_leave.pk]
    assert "accepts_auto_assignment" in listed.context["cl"].list_display


def test_a_supervisor_turns_auto_assignment_off_and_on_with_the_list_actions(supervisor_office, agent):
    def act(action):
        return supervisor_office.post(
            "/admin/accounts/user/", {"action": action, "_selected_action": [str(agent.pk)]}, follow=True
        )

    response = act("auto_assignment_off")
    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is False
    assert "Auto-assignment off (on leave) for 1 user(s)." in [str(m) for m in response.context["messages"]]

    act("auto_assignment_on")
    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is True


def test_a_supervisor_still_cannot_change_a_user(supervisor_office, agent):
    response = _change(supervisor_office, agent, level=3)

    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.level == 1


def test_staff_without_the_permission_do_not_get_the_actions(agent):
    from django.contrib.auth.models import Permission

    from tests.accounts.factories import UserFactory

    viewer = UserFactory(role="SUPERVISOR", email="viewer@example.com")
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    browser = DjangoClient()
    browser.force_login(viewer)

    listed = browser.get("/admin/accounts/user/")
    browser.post("/admin/accounts/user/", {"action": "auto_assignment_off", "_selected_action": [str(agent.pk)]})

    assert "auto_assignment_off" not in listed.content.decode()
    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is True


def test_an_admin_edits_the_flag_on_the_change_page(back_office, agent):
    _change(back_office, agent)  # the checkbox left out: off

    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is False
    _change(back_office, agent, accepts_auto_assignment="on")
    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is True
