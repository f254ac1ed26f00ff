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
