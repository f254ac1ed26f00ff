"""Index changes on big tables without locking writes: CONCURRENTLY on PostgreSQL.

Django's AddIndexConcurrently / RemoveIndexConcurrently exist only for PostgreSQL; local mode
and the SQLite test runs migrate the same files, so these fall back to the plain operations
elsewhere. A migration using them must be non-atomic (`atomic = False`): PostgreSQL refuses
CREATE INDEX CONCURRENTLY inside a transaction.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations import AddIndex, RemoveIndex


class _ConcurrentlyOnPostgres:
    """Runs the concurrent operation on PostgreSQL and `plain`'s elsewhere."""

    plain: type

    def _run(self, direction: str, schema_editor, *args):
        if schema_editor.connection.vendor == "postgresql":
            return getattr(super(), direction)(args[0], schema_editor, *args[1:])
        return getattr(self.plain, direction)(self, args[0], schema_editor, *args[1:])

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        return self._run("database_forwards", schema_editor, app_label, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return self._run("database_backwards", schema_editor, app_label, from_state, to_state)


class AddIndexConcurrentlyWhereSupported(_ConcurrentlyOnPostgres, AddIndexConcurrently):
    plain = AddIndex


class RemoveIndexConcurrentlyWhereSupported(_ConcurrentlyOnPostgres, RemoveIndexConcurrently):
    plain = RemoveIndex
