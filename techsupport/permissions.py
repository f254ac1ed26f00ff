"""Role permissions shared by every app. Roles are read from the database on each request
(the JWT carries only the user id), so a role change takes effect at once."""

from rest_framework.permissions import BasePermission

from accounts.roles import Role


class _HasRole(BasePermission):
    roles: frozenset = frozenset()
    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.role in self.roles)


def HasRole(*roles: str) -> type[BasePermission]:  # noqa: N802 - used like a class
    """`permission_classes = [HasRole(Role.ADMIN, Role.SUPERVISOR)]`."""
    return type(f"HasRole_{'_'.join(roles)}", (_HasRole,), {"roles": frozenset(roles)})


IsAdmin = HasRole(Role.ADMIN)
IsAdminOrSupervisor = HasRole(Role.ADMIN, Role.SUPERVISOR)
IsAnyRole = HasRole(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
