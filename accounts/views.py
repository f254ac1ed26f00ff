from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.email_address import email_normalize
from accounts.permissions import IsAdmin, IsAdminOrSupervisor
from accounts.serializers import (
    USER_OUTPUT_COLUMNS,
    LoginInput,
    RefreshInput,
    RegisterInput,
    TokenPairOutput,
    UserListFilter,
    UserOutput,
    UserUpdateInput,
)
from accounts.tokens import refresh_token_subject
from techsupport.exceptions import NotFound, RateLimited
from techsupport.pagination import StandardPagination
from techsupport.parsers import JSONParser
from techsupport.rate_limits import rate_limits_wait
from techsupport.validation import parse_uuid


def _body_field(request, *names: str) -> str:
    """The first of `names` in the body, as text; "" when absent or when the body is not an
    object (a JSON array or string here was a 500 before the serializer could refuse it)."""
    data = request.data if hasattr(request, "data") else request.POST
    if not hasattr(data, "get"):
        return ""
    return str(next((data.get(name) for name in names if data.get(name)), ""))


def _login_email_key(group, request):
    # The same normalisation as the stored email and the login lookup: one budget per account.
    return email_normalize(_body_field(request, "email", "username"))


def login_rate_limit_wait(request) -> int | None:
    """One budget per email and per IP, shared by the API login and the admin login page.
    Both counters move on every attempt; either one over its limit refuses the login. Returns
    None, or the seconds until the refusing windows end."""
    return rate_limits_wait(
        request,
        [
            ("login-ip", "ip", settings.LOGIN_RATE_LIMIT_IP),
            ("login-email", _login_email_key, settings.LOGIN_RATE_LIMIT_EMAIL),
        ],
    )


def _login_refused(wait: int) -> str:
    return f"Too many login attempts; try again in {wait} s."


def admin_login(request, extra_context=None):
    """The Django admin's login page behind the same login rate limits as the API."""
    wait = login_rate_limit_wait(request) if request.method == "POST" else None
    if wait is not None:
        response = HttpResponse(_login_refused(wait), status=429, content_type="text/plain")
        response["Retry-After"] = str(wait)
        return response
    return admin.site.login(request, extra_context)


def refresh_rate_limit_wait(request) -> int | None:
    """Per IP on every attempt, and per user once the token's signature checks out (so a
    forged token cannot spend someone else's budget)."""
    limits = [("refresh-ip", "ip", settings.REFRESH_RATE_LIMIT_IP)]
    subject = refresh_token_subject(_body_field(request, "refreshToken"))
    if subject is not None:
        limits.append(("refresh-user", lambda group, request: subject, settings.REFRESH_RATE_LIMIT_USER))
    return rate_limits_wait(request, limits)


class LoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=LoginInput, responses={200: TokenPairOutput}, auth=[])
    def post(self, request):
        wait = login_rate_limit_wait(request)
        if wait is not None:
            raise RateLimited(_login_refused(wait), retry_after=wait)
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_login(**data.validated_data)
        return Response(TokenPairOutput(pair).data)


class RefreshView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput}, auth=[])
    def post(self, request):
        wait = refresh_rate_limit_wait(request)
        if wait is not None:
            raise RateLimited(f"Too many token refreshes; try again in {wait} s.", retry_after=wait)
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_refresh(refresh=data.validated_data["refresh_token"])
        return Response(TokenPairOutput(pair).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=RefreshInput, responses={204: None})
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.auth_logout(refresh=data.validated_data["refresh_token"], user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterView(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [JSONParser]

    @extend_schema(request=RegisterInput, responses={201: UserOutput})
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserOutput})
    def get(self, request):
        # The cached user (accounts/auth_state.py) defers the output's other columns: one query
        # for all of them, not one per column.
        deferred = request.user.get_deferred_fields() & USER_OUTPUT_COLUMNS
        if deferred:
            request.user.refresh_from_db(fields=sorted(deferred))
        return Response(UserOutput(request.user).data)


class UserListView(APIView):
    permission_classes = [IsAdminOrSupervisor]

    @extend_schema(parameters=[UserListFilter], responses={200: UserOutput(many=True)})
    def get(self, request):
        filters = UserListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.user_list(**filters.validated_data), request, self)
        return paginator.get_paginated_response(UserOutput(page, many=True).data)


class UserDetailView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UserUpdateInput, responses={200: UserOutput})
    def patch(self, request, user_id):
        user = selectors.user_get(parse_uuid(user_id, "id"))
        if user is None:
            raise NotFound("The user does not exist.")
        data = UserUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=user, **data.validated_data)
        return Response(UserOutput(user).data)
