from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django_ratelimit.core import is_ratelimited
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.email_address import email_normalize
from accounts.serializers import (
    LoginInput,
    RefreshInput,
    RegisterInput,
    TokenPairOutput,
    UserListFilter,
    UserOutput,
    UserUpdateInput,
)
from techsupport.exceptions import NotFound, RateLimited
from techsupport.pagination import StandardPagination
from techsupport.permissions import IsAdmin, IsAdminOrSupervisor
from techsupport.validation import parse_uuid


def _login_email_key(group, request):
    # The same normalisation as the stored email and the login lookup: one budget per account.
    data = request.data if hasattr(request, "data") else request.POST
    return email_normalize(str(data.get("email") or data.get("username") or ""))


def login_rate_limited(request) -> bool:
    """One budget per email and per IP, shared by the API login and the admin login page.
    Both counters move on every attempt; either one over its limit refuses the login."""
    over_ip = is_ratelimited(request, group="login-ip", key="ip", rate=settings.LOGIN_RATE_LIMIT_IP, increment=True)
    over_email = is_ratelimited(
        request, group="login-email", key=_login_email_key, rate=settings.LOGIN_RATE_LIMIT_EMAIL, increment=True
    )
    return over_ip or over_email


def admin_login(request, extra_context=None):
    """The Django admin's login page behind the same login rate limits as the API."""
    if request.method == "POST" and login_rate_limited(request):
        return HttpResponse(
            "Too many login attempts; wait a minute and try again.", status=429, content_type="text/plain"
        )
    return admin.site.login(request, extra_context)


class LoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginInput, responses={200: TokenPairOutput}, auth=[])
    def post(self, request):
        if login_rate_limited(request):
            raise RateLimited("Too many login attempts; wait a minute and try again.")
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_login(**data.validated_data)
        return Response(TokenPairOutput(pair).data)


class RefreshView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput}, auth=[])
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_refresh(refresh=data.validated_data["refreshToken"])
        return Response(TokenPairOutput(pair).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefreshInput, responses={204: None})
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.auth_logout(refresh=data.validated_data["refreshToken"], user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterView(APIView):
    permission_classes = [IsAdmin]

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
