"""What accounts announces to the apps built on it (accounts imports none of them).

`user_level_changed` is sent inside the transaction that changed a user's support level — by
`accounts.services.user_update` and by the user admin's save — with `user` (saved, new level),
`previous_level` and `actor` (who changed it; None when unknown). Receivers run in that
transaction: an exception rolls the level change back. The tickets app subscribes in its
AppConfig.ready() to enforce the level rule on the agent's escalated tickets.
"""

from django.dispatch import Signal

user_level_changed = Signal()
