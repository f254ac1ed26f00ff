import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.email_address import email_normalize
from accounts.roles import MAX_LEVEL, MIN_LEVEL, STAFF_ROLES, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        return email_normalize(email)

    def get_by_natural_key(self, username):
        # Django's ModelBackend (the admin login) and createsuperuser look users up here.
        return self.get(email=email_normalize(username))

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=email_normalize(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields["role"] = Role.ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: an admin, a supervisor or a support agent (with a level 1..3).

    `is_staff` and `is_superuser` follow from the role (see `save`), so the admin's gate and
    the API's role checks can never disagree. The email is stored normalised
    (`email_normalize`). Saving a changed password, by any path (API, admin, password reset,
    `changepassword`), raises `token_version` and revokes every refresh token of the user:
    tokens issued before it stop working at once (accounts/tokens.py).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT, db_index=True)
    level = models.PositiveSmallIntegerField(
        default=MIN_LEVEL, validators=[MinValueValidator(MIN_LEVEL), MaxValueValidator(MAX_LEVEL)]
    )
    is_active = models.BooleanField("active", default=True)
    is_staff = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Carried in every token as a claim; a token whose version is not this one is refused.
    token_version = models.PositiveIntegerField(default=0, editable=False)
    # Auto-assignment (tickets/auto_assign.py): off for an agent on leave; supervisors toggle it
    # in the users admin. The last time any ticket was assigned to the agent breaks ties between
    # equally loaded agents (never assigned: the idlest).
    accepts_auto_assignment = models.BooleanField(
        "accepts auto-assignment",
        default=True,
        help_text="Off while the agent is on leave: auto-assignment passes them by (manual assignment still works).",
    )
    last_assigned_at = models.DateTimeField("last assigned at", null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=MIN_LEVEL, level__lte=MAX_LEVEL), name="user_level_range"
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]
        indexes = [models.Index(fields=["role", "is_active", "level"], name="user_role_active_level")]
        permissions = [("toggle_auto_assignment", "Can turn an agent's auto-assignment on or off")]

    def __str__(self):
        return f"{self.name or self.email} ({self.role})"

    # Set when the password becomes unusable (Django's `_password` stays None then).
    _password_locked = False

    @classmethod
    def normalize_username(cls, username):
        return email_normalize(username)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        if raw_password is None:  # stored as an unusable password
            self._password_locked = True

    def set_unusable_password(self):
        super().set_unusable_password()
        self._password_locked = True

    def _password_change_pending(self, update_fields) -> bool:
        """A password set since the last save, about to be written over a stored one. Django
        leaves `_password` None for a hash upgrade at login (check_password), which is not a
        change; a new user has no token to revoke."""
        if self._state.adding or (update_fields is not None and "password" not in update_fields):
            return False
        return self._password is not None or self._password_locked

    def save(self, *args, **kwargs):
        self.email = email_normalize(self.email)
        self.is_staff = self.role in STAFF_ROLES
        self.is_superuser = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = update_fields = {*update_fields, "is_staff", "is_superuser"}
        if not self._password_change_pending(update_fields):
            super().save(*args, **kwargs)
            return
        # F(): a concurrent change, or this instance being stale, never reuses a version.
        self.token_version = F("token_version") + 1
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "token_version"}
        with transaction.atomic(using=kwargs.get("using") or self._state.db):
            super().save(*args, **kwargs)
            self._password_locked = False
            self.refresh_from_db(fields=["token_version"])
            from accounts.services import tokens_revoke_all  # services import this module

            tokens_revoke_all(user=self)
