from django.apps import AppConfig


def _on_user_level_changed(sender, *, user, actor=None, **kwargs):
    from tickets.services import ticket_unassign_below_level

    ticket_unassign_below_level(agent=user, actor=actor)


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self):
        from accounts.signals import user_level_changed
        from tickets.metrics import state_gauges_register

        # The level rule (tickets/services.py) follows an agent's level down.
        user_level_changed.connect(_on_user_level_changed, dispatch_uid="tickets_unassign_below_level")
        state_gauges_register()
