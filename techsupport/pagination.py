"""The one list shape of the API: {"data": [...], "total": N, "page": P, "pageSize": S}."""

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from techsupport.exceptions import ValidationFailed

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Far past any real list, and low enough that the offset fits the database's integer.
MAX_PAGE = 10_000_000


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationFailed(details={name: f"Must be an integer between {low} and {high}."})
    return value


def page_params(request) -> tuple[int, int]:
    """(page, pageSize) from the query string; out-of-range values are a 400."""
    page = _int_param(request, "page", 1, 1, MAX_PAGE)
    size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return page, size


class StandardPagination(BasePagination):
    """Offset pagination; a page past the end is an empty page, not an error."""

    def paginate_queryset(self, queryset, request, view=None):
        self.page, self.page_size = page_params(request)
        self.total = queryset.count()
        start = (self.page - 1) * self.page_size
        return list(queryset[start : start + self.page_size])

    def get_paginated_response(self, data):
        return Response({"data": data, "total": self.total, "page": self.page, "pageSize": self.page_size})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "total", "page", "pageSize"],
            "properties": {
                "data": schema,
                "total": {"type": "integer", "example": 42},
                "page": {"type": "integer", "example": 1},
                "pageSize": {"type": "integer", "example": DEFAULT_PAGE_SIZE},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "pageSize",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
