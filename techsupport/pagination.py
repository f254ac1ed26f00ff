"""The one list shape of the API: {"data": [...], "total": N, "page": P, "pageSize": S}."""

from django.http import HttpResponse
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from techsupport.bounded_pages import page_and_count, page_and_count_json, planner_rows
from techsupport.exceptions import ValidationFailed
from techsupport.serializer_rows import json_text

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Far past any real list, and low enough that the offset fits the database's integer.
MAX_PAGE = 10_000_000
# `paginate_values` counts exactly up to this many rows (50 pages of 20), and beyond it takes
# PostgreSQL's planner estimate, said so by this response header: counting 400,000 matches
# exactly read 400,000 index entries on every request (docs/adr/0010-list-counts.md).
EXACT_COUNT_MAX = 1_000
TOTAL_ESTIMATED_HEADER = "X-Total-Estimated"


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

    def paginate_values(self, queryset, request, columns: list[str], compiled=None) -> list[tuple]:
        """The page as value tuples of `columns`. `total` is exact up to EXACT_COUNT_MAX rows;
        beyond, PostgreSQL's estimate (never below what the requested page proves), flagged by
        the X-Total-Estimated response header. With `compiled` (techsupport/bounded_pages.py, the
        same rows as `queryset`), count and page are one statement."""
        self.page, self.page_size = page_params(request)
        start = (self.page - 1) * self.page_size
        if compiled is None:
            rows = list(queryset.values_list(*columns)[start : start + self.page_size])
            self.total, self.total_exact = queryset.count(), True
            return rows
        return self._counted(page_and_count(compiled, start, self.page_size, EXACT_COUNT_MAX), compiled, start)

    def paginate_json(self, request, compiled, row_json, context: dict) -> list[str] | None:
        """`paginate_values` for a compiled list, each row as its JSON text (`row_json`:
        `SerializerRows.row_json_sql`), for `get_paginated_json_response`; None when the SQL
        cannot write a row of the page (then `paginate_values`)."""
        self.page, self.page_size = page_params(request)
        start = (self.page - 1) * self.page_size
        page = page_and_count_json(compiled, start, self.page_size, EXACT_COUNT_MAX, row_json, context)
        return None if page is None else self._counted(page, compiled, start)

    def _counted(self, page, compiled, start: int) -> list:
        self.total_exact = page.seen <= EXACT_COUNT_MAX
        self.total = page.seen
        if not self.total_exact:
            estimate = planner_rows(page.sql, page.params, compiled.db)
            self.total = max(estimate, page.seen, start + len(page.rows))
        return page.rows

    def get_paginated_json_response(self, rows_json: list[str]) -> HttpResponse:
        """`get_paginated_response` for rows already JSON text: the same bytes, headers and
        status, without DRF's rendering (APIView passes a plain HttpResponse through)."""
        text = json_text(rows_json, total=self.total, page=self.page, pageSize=self.page_size)
        response = HttpResponse(text.encode(), content_type="application/json")
        if not self.total_exact:
            response[TOTAL_ESTIMATED_HEADER] = "true"
        return response

    def get_paginated_response(self, data):
        response = Response({"data": data, "total": self.total, "page": self.page, "pageSize": self.page_size})
        if not getattr(self, "total_exact", True):
            response[TOTAL_ESTIMATED_HEADER] = "true"
        return response

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
