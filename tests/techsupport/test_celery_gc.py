"""Pool processes freeze what they inherit from the fork, so full collections skip it."""

import gc

from celery.signals import worker_process_init

from config.celery import _freeze_inherited_objects


def test_a_new_pool_process_freezes_the_objects_it_inherited():
    assert any(receiver() is _freeze_inherited_objects for _, receiver in worker_process_init.receivers)
    gc.unfreeze()
    try:
        _freeze_inherited_objects()

        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
