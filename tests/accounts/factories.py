import factory
from django.contrib.auth.hashers import make_password
from factory.django import DjangoModelFactory

from accounts.models import User
from accounts.roles import Role

DEFAULT_PASSWORD = "Correct-Horse-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = Role.AGENT
    level = 1
    is_active = True
    # The hash as a field of the first save: set_password() on a saved user is a password
    # change, which would raise token_version and revoke tokens (accounts/models.py).
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))
