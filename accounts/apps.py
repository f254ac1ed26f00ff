from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_supervisors_group(sender, **kwargs):
    from accounts.services import supervisors_group_sync

    supervisors_group_sync()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts.roles import Role
        from techsupport.openapi import api_roles_register

        api_roles_register([role.value for role in Role])
        # After every app: permissions of later apps exist only once their own post_migrate ran.
        post_migrate.connect(_sync_supervisors_group, dispatch_uid="accounts_supervisors_group")
        from accounts.auth_state import signals_connect
        from accounts.authentication import AccessTokenPrefetch
        from techsupport.rate_limits import request_prefetch_register

        signals_connect()
        request_prefetch_register(AccessTokenPrefetch())
