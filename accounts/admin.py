from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.utils import timezone

from accounts.email_address import email_normalize
from accounts.models import User
from accounts.services import tokens_revoke_all, user_groups_sync
from accounts.signals import user_level_changed


def _email_clean(form) -> str:
    # Stored normalised (User.save): compare it so, or a variant of a taken email (case, a
    # Unicode look-alike) passes the form's unique check and fails on the database constraint.
    return email_normalize(form.cleaned_data["email"])


class UserCreationForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password confirmation", widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ["email", "name", "role", "level"]

    clean_email = _email_clean

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        password = self.cleaned_data.get("password1")
        if password:
            from django.contrib.auth.password_validation import validate_password

            try:
                validate_password(password, self.instance)
            except forms.ValidationError as error:
                self.add_error("password1", error)

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField()

    class Meta:
        model = User
        fields = ["email", "name", "role", "level", "is_active", "accepts_auto_assignment", "password"]

    clean_email = _email_clean


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = [
        "email",
        "name",
        "role",
        "level",
        "is_active",
        "accepts_auto_assignment",
        "last_assigned",
        "created",
    ]
    list_filter = ["role", "level", "is_active", "accepts_auto_assignment"]
    search_fields = ["email", "name", "id"]
    ordering = ["email"]
    readonly_fields = ["id", "last_login", "last_assigned_at", "created_at"]
    filter_horizontal: list = []
    fieldsets = [
        (None, {"fields": ["id", "email", "password"]}),
        ("Profile", {"fields": ["name", "role", "level", "is_active", "accepts_auto_assignment"]}),
        ("Activity", {"fields": ["last_login", "last_assigned_at", "created_at"]}),
    ]
    # Supervisors may view users, not change them, but they send agents on leave and back: these
    # two actions write only the flag, behind a permission of their own.
    actions = ["auto_assignment_on", "auto_assignment_off"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "role", "level", "password1", "password2"]})
    ]

    # Short columns: the list fits 1400 px.
    @admin.display(description="last assigned", ordering="last_assigned_at")
    def last_assigned(self, user):
        return user.last_assigned_at

    @admin.display(description="created", ordering="created_at")
    def created(self, user):
        return timezone.localtime(user.created_at).strftime("%Y-%m-%d")

    def save_model(self, request, obj, form, change):
        # What the API's user_create / user_update do after saving, so the two paths agree.
        super().save_model(request, obj, form, change)
        user_groups_sync(obj)
        if change and "is_active" in form.changed_data and not obj.is_active:
            tokens_revoke_all(user=obj)
        if change and "level" in form.changed_data:
            # The admin's change view runs in one transaction: receivers act within it.
            user_level_changed.send(sender=User, user=obj, previous_level=form.initial.get("level"), actor=request.user)

    def has_toggle_auto_assignment_permission(self, request) -> bool:
        return request.user.has_perm("accounts.toggle_auto_assignment")

    def _auto_assignment_set(self, request, queryset, accepts: bool) -> None:
        changed = queryset.exclude(accepts_auto_assignment=accepts).update(accepts_auto_assignment=accepts)
        state = "on" if accepts else "off (on leave)"
        self.message_user(request, f"Auto-assignment {state} for {changed} user(s).", messages.SUCCESS)

    @admin.action(description="Turn auto-assignment on (back from leave)", permissions=["toggle_auto_assignment"])
    def auto_assignment_on(self, request, queryset):
        self._auto_assignment_set(request, queryset, True)

    @admin.action(description="Turn auto-assignment off (on leave)", permissions=["toggle_auto_assignment"])
    def auto_assignment_off(self, request, queryset):
        self._auto_assignment_set(request, queryset, False)
