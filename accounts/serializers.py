from rest_framework import serializers

from accounts.models import User
from accounts.roles import MAX_LEVEL, MIN_LEVEL, Role, normalize_role
from techsupport import camelcase


class RoleField(serializers.ChoiceField):
    """ADMIN | SUPERVISOR | AGENT, accepting the seed's `AGENTE` alias on input."""

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(normalize_role(str(data)))


class LoginInput(camelcase.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class RefreshInput(camelcase.Serializer):
    refresh_token = serializers.CharField(max_length=2048)


class TokenPairOutput(camelcase.Serializer):
    access_token = serializers.CharField(source="access")
    refresh_token = serializers.CharField(source="refresh")
    token_type = serializers.SerializerMethodField()
    expires_in = serializers.IntegerField()

    def get_token_type(self, obj) -> str:
        return "Bearer"


class RegisterInput(camelcase.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False, write_only=True)
    role = RoleField()
    active = serializers.BooleanField(default=True)
    level = serializers.IntegerField(min_value=MIN_LEVEL, max_value=MAX_LEVEL, default=MIN_LEVEL)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class UserUpdateInput(camelcase.Serializer):
    active = serializers.BooleanField(required=False, source="is_active")
    role = RoleField(required=False)
    level = serializers.IntegerField(min_value=MIN_LEVEL, max_value=MAX_LEVEL, required=False)
    accepts_auto_assignment = serializers.BooleanField(
        required=False, help_text="Off while the agent is on leave: auto-assignment passes them by."
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of active, role, level, acceptsAutoAssignment.")
        return attrs


class UserOutput(camelcase.ModelSerializer):
    active = serializers.BooleanField(source="is_active")
    created_at = serializers.DateTimeField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "active", "level", "accepts_auto_assignment", "created_at"]


# The model columns UserOutput reads.
USER_OUTPUT_COLUMNS = frozenset(
    {"id", "email", "name", "role", "is_active", "level", "accepts_auto_assignment", "created_at"}
)


class UserListFilter(camelcase.Serializer):
    role = RoleField(required=False)
    active = serializers.BooleanField(required=False)
