"""Fixtures of the tickets tests: a desk with supervisors and agents of every level (some
inactive) for the SLA tests, and the back-office as a supervisor."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.test import Client as DjangoClient

from accounts.models import User
from accounts.roles import Role
from accounts.services import supervisors_group_sync
from tests.accounts.factories import UserFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Desk:
    supervisor: User
    supervisor2: User
    supervisor_inactive: User
    agent1: User
    agent2: User
    agent3: User
    agent3_inactive: User
    admin: User

    @property
    def escalation_recipients(self) -> set:
        """Active level-2+ agents and active supervisors."""
        return {self.agent2.pk, self.agent3.pk, self.supervisor.pk, self.supervisor2.pk}

    @property
    def supervisors(self) -> set:
        return {self.supervisor.pk, self.supervisor2.pk}


@pytest.fixture
def desk(db) -> Desk:
    return Desk(
        supervisor=UserFactory(role=Role.SUPERVISOR, email="sla-super1@example.com"),
        supervisor2=UserFactory(role=Role.SUPERVISOR, email="sla-super2@example.com"),
        supervisor_inactive=UserFactory(role=Role.SUPERVISOR, email="sla-super-off@example.com", is_active=False),
        agent1=UserFactory(role=Role.AGENT, level=1, email="sla-agent1@example.com"),
        agent2=UserFactory(role=Role.AGENT, level=2, email="sla-agent2@example.com"),
        agent3=UserFactory(role=Role.AGENT, level=3, email="sla-agent3@example.com"),
        agent3_inactive=UserFactory(role=Role.AGENT, level=3, email="sla-agent3-off@example.com", is_active=False),
        admin=UserFactory(role=Role.ADMIN, email="sla-admin@example.com"),
    )


@pytest.fixture
def back_office(supervisor):
    """The Django test client logged in as a supervisor of the Supervisors group (the admin)."""
    supervisor.groups.add(supervisors_group_sync())
    browser = DjangoClient()
    browser.force_login(supervisor)
    return browser
