"""The project's OpenAPI schema generator: drf-spectacular's AutoSchema plus what every
operation shares — the roles that may call it, the JSON error shape, and the list envelope."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from techsupport.error_codes import ErrorCode
from techsupport.pagination import StandardPagination

# Every role of the API, most powerful first; the accounts app registers them when it starts.
_ROLE_ORDER: list[str] = []


def api_roles_register(roles: list[str]) -> None:
    """The roles an operation can name in its description (accounts/apps.py)."""
    _ROLE_ORDER[:] = list(roles)


_ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`validation_error` and friends); per-field messages in `details`.",
    "401": "Not authenticated: no token, or an invalid or expired one.",
    "403": "Your role does not allow this action.",
    "404": "No such resource (or soft-deleted).",
    "429": "Rate limited (`rate_limited`).",
    "503": "A backing service (PostgreSQL, Redis, MongoDB) is unavailable; retry shortly.",
}


class ErrorSerializer(serializers.Serializer):
    """Every error of the API, from any layer."""

    message = serializers.CharField(help_text="A human sentence.")
    code = serializers.ChoiceField(
        choices=ErrorCode.choices, help_text="A stable snake_case code clients can switch on (ErrorCodeEnum)."
    )
    details = serializers.DictField(required=False, help_text="Per-field messages or extra facts.")


class AutoSchema(SpectacularAutoSchema):
    def _roles(self) -> list[str] | None:
        """The roles allowed to call this operation; None when no token is needed."""
        if self.get_auth() == []:
            return None
        permissions = self.view.get_permissions()
        if permissions and all(isinstance(permission, AllowAny) for permission in permissions):
            return None
        allowed = set(_ROLE_ORDER)
        for permission in permissions:
            roles = getattr(permission, "roles", None)
            if roles is not None:
                allowed &= set(roles)
        return [role for role in _ROLE_ORDER if role in allowed]

    def get_description(self):
        description = super().get_description() or ""
        roles = self._roles()
        stated = "**Roles:** " + (", ".join(roles) if roles is not None else "public (no token)")
        return f"{description}\n\n{stated}".strip()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        roles = self._roles()
        statuses = ["400", "401", "429", "503"]
        if roles is not None and len(roles) < len(_ROLE_ORDER):
            statuses.append("403")
        if "{" in self.path:
            statuses.append("404")
        for status in statuses:
            if status not in responses:
                response = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                response["description"] = _ERROR_DESCRIPTIONS[status]
                responses[status] = response
        return responses

    def _get_paginator(self):
        """Every list the API returns goes through StandardPagination (`{data, total, page,
        pageSize}`). Plain APIViews have no `pagination_class` for drf-spectacular to see, so
        their lists were documented as bare arrays while the server sent the envelope;
        schema-driven clients and contract tests (tests/security/test_schemathesis.py) then
        rejected every real response."""
        paginator = super()._get_paginator()
        if paginator is None and self.method == "GET":
            return StandardPagination()
        return paginator
