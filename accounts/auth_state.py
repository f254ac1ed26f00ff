"""What authentication needs to know about a user on every request, cached per user in Redis.

An access token names its user (`sub`) and the token version it was issued at (`ver`). Whether
it still holds depends on the user's current `token_version` and `is_active`, and the
permissions read `role` (and services `level`). Loading the user row for that was a SELECT on
every request; this module serves those columns from the cache entry `auth-state:<user id>`:

- a request that misses reads the row and ADDs the entry (only if absent);
- every save or delete of a user, by any path (services, admin, `changepassword`), first puts a
  tombstone of its own in the entry (readers then go to PostgreSQL and cannot re-cache the old
  row), and after the commit replaces that tombstone — and only its own, compare-and-set — with
  the committed row (or removes the entry when the user is gone).

So a password change, deactivation, role or level change is seen by the next request. If Redis
fails exactly while a user is written, an entry can be stale for at most ENTRY_SECONDS. When Redis
is down, every request reads PostgreSQL. `QuerySet.update()` of these columns would bypass this:
write them with `save()` (accounts/services.py does).
"""

import json
import logging
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from accounts.models import User
from accounts.roles import STAFF_ROLES, Role
from techsupport.redis_cache import cache_key, redis_client

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 60
TOMBSTONE_SECONDS = 60
_TOMBSTONE_PREFIX = "-"
# Replace the entry only while it still holds this writer's tombstone.
_REPLACE_OWN_TOMBSTONE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 0
"""


@dataclass(frozen=True)
class AuthState:
    token_version: int
    is_active: bool
    role: str
    level: int
    email: str
    name: str


FIELDS = tuple(AuthState.__dataclass_fields__)


def state_key(user_id) -> str:
    return f"auth-state:{user_id}"


def _encode(state: AuthState) -> str:
    return json.dumps([getattr(state, name) for name in FIELDS], separators=(",", ":"))


def _decode(raw) -> AuthState | None:
    """None for a missing entry or a tombstone."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith(_TOMBSTONE_PREFIX):
        return None
    return AuthState(*json.loads(text))


def _row(user_id) -> AuthState | None:
    values = User.objects.filter(pk=user_id).values_list(*FIELDS).first()
    return AuthState(*values) if values is not None else None


def _read(key: str):
    client = redis_client()
    return client.get(cache_key(key)) if client is not None else cache.get(key)


def _add(key: str, state: AuthState) -> None:
    client = redis_client()
    if client is not None:
        client.set(cache_key(key), _encode(state), nx=True, ex=ENTRY_SECONDS)
    else:
        cache.add(key, _encode(state), ENTRY_SECONDS)


def auth_state_get(user_id: uuid.UUID, *, prefetched=None, was_prefetched: bool = False) -> AuthState | None:
    """The user's current state, None when no such user. `prefetched` is the raw entry when the
    caller already read it (the API rate limit's pipeline does, `was_prefetched`)."""
    key = state_key(user_id)
    try:
        raw = prefetched if was_prefetched else _read(key)
    except RedisError:
        logger.warning("auth state cache unavailable: reading the user row", exc_info=True)
        return _row(user_id)
    state = _decode(raw)
    if state is not None:
        return state
    state = _row(user_id)
    if state is not None and raw is None:  # a tombstone means a write is in flight: don't cache
        try:
            _add(key, state)
        except RedisError:
            logger.warning("auth state cache unavailable: entry not written", exc_info=True)
    return state


def user_from_state(user_id: uuid.UUID, state: AuthState) -> User:
    """A User instance built without a query: the cached columns set (plus `is_staff` and
    `is_superuser`, which follow from the role), every other column deferred — read from the
    database only if something asks for it."""
    known = {
        "id": user_id,
        "is_staff": state.role in STAFF_ROLES,
        "is_superuser": state.role == Role.ADMIN,
        **{name: getattr(state, name) for name in FIELDS},
    }
    fields = [field.attname for field in User._meta.concrete_fields if field.attname in known]
    return User.from_db("default", fields, [known[name] for name in fields])


# --- Writes ---------------------------------------------------------------------------------
def _settle(key: str, user_id, tombstone: str) -> None:
    """After the commit: the committed row replaces this writer's tombstone."""
    state = _row(user_id)
    value = _encode(state) if state is not None else ""
    try:
        client = redis_client()
        if client is not None:
            client.eval(_REPLACE_OWN_TOMBSTONE, 1, cache_key(key), tombstone, value, ENTRY_SECONDS)
        elif cache.get(key) == tombstone:
            cache.set(key, value, ENTRY_SECONDS) if value else cache.delete(key)
    except RedisError:
        logger.warning("auth state cache unavailable: the tombstone expires by itself", exc_info=True)


def auth_state_invalidate(user_id, *, using: str = "default") -> None:
    """Called for every save and delete of a user (signals, accounts/apps.py): tombstone now,
    the committed row after the commit."""
    key = state_key(user_id)
    tombstone = f"{_TOMBSTONE_PREFIX}{uuid.uuid4().hex}"
    try:
        client = redis_client()
        if client is not None:
            client.set(cache_key(key), tombstone, ex=TOMBSTONE_SECONDS)
        else:
            cache.set(key, tombstone, TOMBSTONE_SECONDS)
    except RedisError:
        logger.warning("auth state cache unavailable: entry not invalidated", exc_info=True)
    transaction.on_commit(lambda: _settle(key, user_id, tombstone), using=using)


def _on_user_saved(sender, instance, using, **kwargs):
    auth_state_invalidate(instance.pk, using=using)


def _on_user_deleted(sender, instance, using, **kwargs):
    auth_state_invalidate(instance.pk, using=using)


def signals_connect() -> None:
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_user_saved, sender=User, dispatch_uid="accounts_auth_state_saved")
    post_delete.connect(_on_user_deleted, sender=User, dispatch_uid="accounts_auth_state_deleted")
