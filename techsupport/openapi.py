"""OpenAPI generation: every operation documents the roles allowed and the error responses it
can give, in the contract's error shape."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    message = serializers.CharField(help_text="A human sentence.")
    code = serializers.CharField(help_text="Stable snake_case code clients can switch on.")
    details = serializers.DictField(required=False, help_text="Per-field messages or context.")


class AutoSchema(SpectacularAutoSchema):
    def _permissions(self):
        return self.view.get_permissions() if hasattr(self.view, "get_permissions") else []

    def _is_public(self) -> bool:
        permissions = self._permissions()
        return bool(permissions) and all(isinstance(p, AllowAny) for p in permissions)

    def _roles(self) -> list[str]:
        roles: set[str] = set()
        for permission in self._permissions():
            roles |= set(getattr(permission, "roles", ()))
        return sorted(roles)

    def get_description(self):
        description = super().get_description() or ""
        if self._is_public():
            access = "public (no authentication)"
        else:
            access = ", ".join(self._roles()) or "any authenticated user"
        return f"{description}\n\n**Roles:** {access}".strip()

    def _error_statuses(self) -> dict[str, str]:
        statuses = {
            "400": "Invalid input; per-field messages in `details`.",
            "401": "Not authenticated, or the credentials or token are invalid or expired.",
            "429": "Rate limited.",
        }
        if self._roles():
            statuses["403"] = "The caller's role is not allowed."
        if "{" in self.path:
            statuses["404"] = "No such resource (or soft-deleted)."
        statuses["503"] = "A backing service is unavailable."
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in self._error_statuses().items():
            if status not in responses:
                responses[status] = {
                    **self._get_response_for_code(ErrorSerializer, status, direction=direction),
                    "description": description,
                }
        return responses
