from rest_framework import serializers

from accounts.models import User
from accounts.roles import MAX_LEVEL, MIN_LEVEL, Role, normalize_role


class RoleField(serializers.ChoiceField):
    """ADMIN | SUPERVISOR | AGENT, accepting the seed's `AGENTE` alias on input."""

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(normalize_role(str(data)))


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refreshToken = serializers.CharField(max_length=2048)  # noqa: N815 - wire name


class TokenPairOutput(serializers.Serializer):
    accessToken = serializers.CharField(source="access")  # noqa: N815
    refreshToken = serializers.CharField(source="refresh")  # noqa: N815
    tokenType = serializers.SerializerMethodField()  # noqa: N815
    expiresIn = serializers.IntegerField(source="expires_in")  # noqa: N815

    def get_tokenType(self, obj) -> str:  # noqa: N802
        return "Bearer"


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False, write_only=True)
    role = RoleField()
    active = serializers.BooleanField(default=True)
    level = serializers.IntegerField(min_value=MIN_LEVEL, max_value=MAX_LEVEL, default=MIN_LEVEL)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class UserUpdateInput(serializers.Serializer):
    active = serializers.BooleanField(required=False, source="is_active")
    role = RoleField(required=False)
    level = serializers.IntegerField(min_value=MIN_LEVEL, max_value=MAX_LEVEL, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of active, role, level.")
        return attrs


class UserOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "active", "level", "createdAt"]


class UserListFilter(serializers.Serializer):
    role = RoleField(required=False)
    active = serializers.BooleanField(required=False)
