"""Real threads for the concurrency tests: each thread has its own database connection, closed
when it ends (run them under `django_db(transaction=True)`)."""

import threading

from django.db import connection


def in_thread(target) -> threading.Thread:
    """Starts `target` in a new thread and returns the thread (join it)."""

    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
