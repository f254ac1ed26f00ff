import os
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from tickets.models import Client, Ticket
from tickets.services import client_create, ticket_assign, ticket_change_status, ticket_create
from tickets.states import ClientType, TicketStatus

# Only ever used with DEBUG on (local mode); elsewhere SEED_DEMO_PASSWORD must be set.
LOCAL_DEMO_PASSWORD = "Demo-Pass-2024"  # noqa: S105 - local mode only, like ensure_admin's default

USERS = [
    ("supervisor@techsupport.pro", "Sam Supervisor", Role.SUPERVISOR, 1),
    ("agent1@techsupport.pro", "Ana Level-One", Role.AGENT, 1),
    ("agent2@techsupport.pro", "Ben Level-Two", Role.AGENT, 2),
    ("agent3@techsupport.pro", "Cleo Level-Three", Role.AGENT, 3),
]
CLIENTS = [
    ("Globex Corporation", "ops@globex.example", ClientType.VIP, "Globex"),
    ("Initech", "it@initech.example", ClientType.VIP, "Initech"),
    ("Corner Bakery", "owner@cornerbakery.example", ClientType.NORMAL, "Corner Bakery"),
    ("Jane Doe", "jane.doe@example.com", ClientType.NORMAL, ""),
]
# (title, client index, priority, path of statuses after OPEN, agent email or None, age in hours)
TICKETS = [
    ("VPN drops every hour", 0, 1, [], None, 0.5),
    ("Cannot print invoices", 2, 3, [], None, 30),
    ("Mailbox over quota", 3, 4, [TicketStatus.IN_PROGRESS], "agent1@techsupport.pro", 5),
    ("ERP login loop", 1, 2, [TicketStatus.IN_PROGRESS], "agent2@techsupport.pro", 1.5),
    ("Database failover test", 0, 1, [TicketStatus.ESCALATED], "agent3@techsupport.pro", 3),
    (
        "Shared drive access: which folders?",
        2,
        3,
        [TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER],
        "agent1@techsupport.pro",
        6,
    ),
    ("Laptop battery swollen", 2, 2, [TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED], "agent1@techsupport.pro", 20),
    (
        "Password reset for new hire",
        3,
        5,
        [TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED],
        "agent1@techsupport.pro",
        48,
    ),
    (
        "Firewall rule request",
        1,
        3,
        [TicketStatus.ESCALATED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED],
        "agent2@techsupport.pro",
        72,
    ),
]


class Command(BaseCommand):
    help = (
        "Loads demo data (idempotent): a supervisor, agents of levels 1-3, VIP and NORMAL clients and "
        "tickets in every status, created through the services so each has its audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any ticket exists.")

    def handle(self, *args, if_empty, **options):
        if if_empty and Ticket.objects.exists():
            self.stdout.write("Tickets exist; demo data not loaded.")
            return
        password = os.environ.get("SEED_DEMO_PASSWORD", "")
        if not password:
            if not settings.DEBUG:
                raise CommandError("Set SEED_DEMO_PASSWORD: the built-in demo password is only allowed with DEBUG on.")
            password = LOCAL_DEMO_PASSWORD
        with transaction.atomic():
            users = self._users(password)
            clients = self._clients()
            created = self._tickets(users, clients)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(users)} users, {len(clients)} clients, {created} new tickets "
                f"(users sign in with the demo password)."
            )
        )

    def _users(self, password: str) -> dict[str, User]:
        users = {}
        for email, name, role, level in USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = user_create(email=email, password=password, role=role, name=name, level=level)
            users[email] = user
        return users

    def _clients(self) -> list[Client]:
        clients = []
        for name, email, tier, company in CLIENTS:
            client = Client.objects.filter(email=email).first()
            clients.append(client or client_create(name=name, email=email, type=tier, company=company))
        return clients

    def _tickets(self, users: dict[str, User], clients: list[Client]) -> int:
        supervisor = users["supervisor@techsupport.pro"]
        now = timezone.now()
        created = 0
        for title, client_index, priority, path, agent_email, age_hours in TICKETS:
            client = clients[client_index]
            if Ticket.objects.filter(client=client, title=title).exists():
                continue
            at = now - timedelta(hours=age_hours)
            ticket = ticket_create(
                title=title,
                description=f"Demo ticket: {title.lower()}.",
                client=client,
                priority=priority,
                actor=supervisor,
                now=at,
            )
            if agent_email:
                ticket = ticket_assign(ticket=ticket, agent_id=users[agent_email].pk, actor=supervisor, now=at)
            step = timedelta(hours=age_hours) / (len(path) + 1)
            for n, status in enumerate(path, start=1):
                ticket = ticket_change_status(ticket=ticket, to_status=status, actor=supervisor, now=at + step * n)
            created += 1
        return created
