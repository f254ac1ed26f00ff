"""Thin views: input serializer → one service or selector → output serializer."""

import functools

from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdminOrSupervisor, IsAnyRole
from techsupport.bounded_pages import PAGE, CompiledLists
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import NotFound, ValidationFailed
from techsupport.openapi import ErrorSerializer
from techsupport.pagination import TOTAL_ESTIMATED_HEADER, StandardPagination
from techsupport.serializer_rows import SerializerRows
from techsupport.validation import parse_if_match, parse_uuid
from tickets import notifications, selectors, services
from tickets.serializers import (
    ClientCreateInput,
    ClientListFilter,
    ClientOutput,
    ClientUpdateInput,
    NotificationListFilter,
    NotificationOutput,
    TicketAssignInput,
    TicketCreateInput,
    TicketEventOutput,
    TicketListFilter,
    TicketOutput,
    TicketStatusInput,
)

# APIViews do not advertise their paginator's parameters by themselves.
PAGE_PARAMS = [
    OpenApiParameter("page", int, description="1-based page number (default 1)"),
    OpenApiParameter("pageSize", int, description="1..100 (default 20)"),
]
# Optimistic concurrency on a ticket: responses carry its version as ETag, changes may send it
# back as If-Match.
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The ticket\'s `version` as a strong entity tag (`"7"`): send it back as `If-Match`.',
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description=(
        'The ETag of the ticket as you read it (`"7"`). If the ticket has changed since, the change is not '
        "applied: 409 `concurrent_update` (or `invalid_transition`) with the current `status` and `version` in "
        "`details`. Without it (or with `*`) the change applies to the ticket as it is then."
    ),
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description=(
        "Conflict with the current state: `invalid_transition` (allowed targets in `details`), or "
        "`concurrent_update` (the ticket moved past `If-Match` / `expectedStatus`, or another change held it too "
        "long). `details` has the current `status` and `version` when they are known."
    ),
)


class _RolePerMethod(APIView):
    """`write_permission` guards the unsafe methods; reading needs any role."""

    write_permission = IsAdminOrSupervisor

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [IsAnyRole()]
        return [self.write_permission()]


def _client_or_404(client_id: str):
    client = selectors.client_get(parse_uuid(client_id, "id"))
    if client is None:
        raise NotFound("The client does not exist.", code=ErrorCode.CLIENT_NOT_FOUND)
    return client


def _ticket_or_404(ticket_id: str):
    ticket = selectors.ticket_get(parse_uuid(ticket_id, "id"))
    if ticket is None:
        raise NotFound("The ticket does not exist.", code=ErrorCode.TICKET_NOT_FOUND)
    return ticket


def _ticket_response(ticket, status_code=status.HTTP_200_OK) -> Response:
    response = Response(TicketOutput(ticket, context={"now": timezone.now()}).data, status=status_code)
    response["ETag"] = f'"{ticket.version}"'
    return response


def _if_match(request) -> int | None:
    return parse_if_match(request.headers.get("If-Match"))


TOTAL_ESTIMATED = OpenApiParameter(
    TOTAL_ESTIMATED_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description="`true` when `total` is PostgreSQL's estimate: lists of more than 1,000 tickets are counted "
    "exactly only up to 1,000. Absent when `total` is exact.",
)
# The list's rows go from value tuples straight to TicketOutput's shape (same fields, same bytes).
TICKET_ROWS = SerializerRows(TicketOutput)
# The list's SQL per set of filters, for the filter sets whose SQL does not involve the clock.
_COMPILED_LISTS = CompiledLists()
_PAGING_PARAMS = ("page", "pageSize")


def _list_filters_key(request) -> tuple:
    return tuple(sorted((k, v) for k, v in request.query_params.dict().items() if k not in _PAGING_PARAMS))


@functools.lru_cache(maxsize=1024)
def _list_filters(key: tuple) -> dict:
    """The validated filters of a query string (pure: kept per distinct query; invalid ones
    raise every time)."""
    filters = TicketListFilter(data=dict(key))
    filters.is_valid(raise_exception=True)
    return filters.validated_data


def _ticket_branches(filters: dict, now):
    return selectors.ticket_list_branches(now=now, **filters)


# --- Clients -----------------------------------------------------------------------------
class ClientListView(_RolePerMethod):
    @extend_schema(parameters=[ClientListFilter, *PAGE_PARAMS], responses={200: ClientOutput(many=True)})
    def get(self, request):
        filters = ClientListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.client_list(**filters.validated_data), request, self)
        return paginator.get_paginated_response(ClientOutput(page, many=True).data)

    @extend_schema(request=ClientCreateInput, responses={201: ClientOutput})
    def post(self, request):
        data = ClientCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = services.client_create(**data.validated_data)
        return Response(ClientOutput(client).data, status=status.HTTP_201_CREATED)


class ClientDetailView(_RolePerMethod):
    @extend_schema(responses={200: ClientOutput})
    def get(self, request, client_id):
        return Response(ClientOutput(_client_or_404(client_id)).data)

    @extend_schema(request=ClientUpdateInput, responses={200: ClientOutput})
    def patch(self, request, client_id):
        client = _client_or_404(client_id)
        data = ClientUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = services.client_update(client=client, **data.validated_data)
        return Response(ClientOutput(client).data)


# --- Tickets -----------------------------------------------------------------------------
class TicketListView(APIView):
    """Every role lists and creates tickets."""

    permission_classes = [IsAnyRole]

    @extend_schema(
        parameters=[TicketListFilter, *PAGE_PARAMS, TOTAL_ESTIMATED], responses={200: TicketOutput(many=True)}
    )
    def get(self, request):
        key = _list_filters_key(request)
        filters = _list_filters(key)
        now = timezone.now()
        paginator = StandardPagination()
        compiled = None
        if connection.vendor == "postgresql":
            branches_at = functools.partial(_ticket_branches, filters)
            compiled = _COMPILED_LISTS.get(key, branches_at, now, TICKET_ROWS.columns)
        # PostgreSQL writes the rows' JSON, compact (DRF's renderer indents for `Accept:
        # application/json; indent=N`; those take the Python rows).
        compact = request.accepted_renderer.get_indent(request.accepted_media_type, {}) is None
        row_json = TICKET_ROWS.row_json_sql(PAGE) if compiled and compact else None
        rows = None if row_json is None else paginator.paginate_json(request, compiled, row_json, {"now": now})
        if rows is not None:
            return paginator.get_paginated_json_response(rows)
        # The queryset is only the fallback when the SQL is not compiled (SQLite, odd shapes).
        tickets = None if compiled else selectors.ticket_list(now=now, **filters)
        rows = paginator.paginate_values(tickets, request, TICKET_ROWS.columns, compiled)
        return paginator.get_paginated_response(TICKET_ROWS.data(rows, {"now": now}))

    @extend_schema(request=TicketCreateInput, responses={201: TicketOutput}, parameters=[ETAG])
    def post(self, request):
        data = TicketCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = selectors.client_get(data.validated_data["client_id"])
        if client is None:
            raise ValidationFailed(
                "The client does not exist.",
                code=ErrorCode.UNKNOWN_CLIENT,
                details={"clientId": "No client has this id."},
            )
        ticket = services.ticket_create(
            title=data.validated_data["title"],
            description=data.validated_data["description"],
            priority=data.validated_data["priority"],
            client=client,
            actor=request.user,
        )
        return _ticket_response(ticket, status.HTTP_201_CREATED)


class TicketDetailView(_RolePerMethod):
    @extend_schema(responses={200: TicketOutput}, parameters=[ETAG])
    def get(self, request, ticket_id):
        return _ticket_response(_ticket_or_404(ticket_id))

    @extend_schema(responses={204: None, 409: CONFLICT}, parameters=[IF_MATCH])
    def delete(self, request, ticket_id):
        ticket = _ticket_or_404(ticket_id)
        services.ticket_soft_delete(ticket=ticket, actor=request.user, expected_version=_if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TicketEventListView(APIView):
    permission_classes = [IsAnyRole]

    @extend_schema(parameters=PAGE_PARAMS, responses={200: TicketEventOutput(many=True)})
    def get(self, request, ticket_id):
        ticket = _ticket_or_404(ticket_id)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.ticket_event_list(ticket=ticket), request, self)
        return paginator.get_paginated_response(TicketEventOutput(page, many=True).data)


class TicketStatusView(APIView):
    """Agents too, but only on tickets assigned to them (the service decides)."""

    permission_classes = [IsAnyRole]

    @extend_schema(
        request=TicketStatusInput,
        responses={
            200: TicketOutput,
            409: CONFLICT,
            422: OpenApiResponse(
                ErrorSerializer, description="`agent_level_too_low`: an agent below level 2 on an ESCALATED ticket."
            ),
        },
        parameters=[IF_MATCH, ETAG],
    )
    def patch(self, request, ticket_id):
        ticket = _ticket_or_404(ticket_id)
        expected_version = _if_match(request)
        data = TicketStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_change_status(
            ticket=ticket,
            to_status=data.validated_data["status"],
            actor=request.user,
            expected_version=expected_version,
            expected_status=data.validated_data.get("expected_status"),
        )
        return _ticket_response(ticket)


class TicketAssignView(APIView):
    permission_classes = [IsAdminOrSupervisor]

    @extend_schema(
        request=TicketAssignInput,
        responses={
            200: TicketOutput,
            409: CONFLICT,
            422: OpenApiResponse(ErrorSerializer, description="`invalid_agent` or `agent_level_too_low`."),
        },
        parameters=[IF_MATCH, ETAG],
    )
    def patch(self, request, ticket_id):
        ticket = _ticket_or_404(ticket_id)
        expected_version = _if_match(request)
        data = TicketAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_assign(
            ticket=ticket,
            agent_id=data.validated_data["agent_id"],
            actor=request.user,
            expected_version=expected_version,
        )
        return _ticket_response(ticket)


# --- Notifications -----------------------------------------------------------------------
class NotificationListView(APIView):
    """Each user reads only their own notifications."""

    permission_classes = [IsAnyRole]

    @extend_schema(parameters=[NotificationListFilter, *PAGE_PARAMS], responses={200: NotificationOutput(many=True)})
    def get(self, request):
        filters = NotificationListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            notifications.notification_list(recipient=request.user, unread=filters.validated_data["unread"]),
            request,
            self,
        )
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadView(APIView):
    permission_classes = [IsAnyRole]

    @extend_schema(request=None, responses={200: NotificationOutput})
    def post(self, request, notification_id):
        notification = notifications.notification_mark_read(
            recipient=request.user, notification_id=parse_uuid(notification_id, "id")
        )
        return Response(NotificationOutput(notification).data)
