"""The API's role permissions: who may call what (techsupport.permissions.HasRole with our roles)."""

from accounts.roles import Role
from techsupport.permissions import HasRole

IsAdmin = HasRole(Role.ADMIN)
IsAdminOrSupervisor = HasRole(Role.ADMIN, Role.SUPERVISOR)
IsAnyRole = HasRole(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
