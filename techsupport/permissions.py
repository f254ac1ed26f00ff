"""Role-based permission classes, for any set of role names. The roles themselves belong to the
accounts app (accounts/permissions.py names the ones the API uses); the role is read from the
user on each request, so a role change takes effect at once."""

from rest_framework.permissions import BasePermission


class _HasRole(BasePermission):
    roles: frozenset = frozenset()
    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.role in self.roles)


def HasRole(*roles: str) -> type[BasePermission]:  # noqa: N802 - used like a class
    """`permission_classes = [HasRole("ADMIN", "SUPERVISOR")]`; `roles` is on the class, in order,
    for the OpenAPI description (techsupport/openapi.py)."""
    return type(f"HasRole_{'_'.join(roles)}", (_HasRole,), {"roles": frozenset(roles)})
