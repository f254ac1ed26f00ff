from accounts.models import User


def user_list(*, role: str | None = None, active: bool | None = None):
    users = User.objects.order_by("email")
    if role is not None:
        users = users.filter(role=role)
    if active is not None:
        users = users.filter(is_active=active)
    return users


def user_get(user_id) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_display_names(user_ids) -> dict[str, str]:
    """{id: name or email} of the users among these ids (ids from imported logs may be unknown)."""
    users = User.objects.filter(pk__in=list(user_ids)).only("id", "name", "email")
    return {str(user.pk): user.name or user.email for user in users}
