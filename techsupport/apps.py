from django.apps import AppConfig


class TechsupportConfig(AppConfig):
    name = "techsupport"
    verbose_name = "TechSupport Pro core"

    def ready(self):
        from django.core.signals import request_started

        from techsupport.db_connections import close_dropped_connections

        # Instead of CONN_HEALTH_CHECKS' `SELECT 1` per request (techsupport/db_connections.py).
        request_started.connect(close_dropped_connections, dispatch_uid="techsupport.close_dropped_connections")
