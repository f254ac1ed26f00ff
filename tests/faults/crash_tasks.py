"""Tasks that kill the worker process running them, for the crash-loop drill
(tests/faults/test_poison_message.py). A worker started with `--include tests.faults.crash_tasks`
registers them; they use the production split task's class, so the delivery counting, the crash
loop and the job's failure are the real ones. Never imported by the product."""

import os
import signal

from celery import shared_task

from ingestion.tasks import SPLIT_OPTIONS, SplitTask


@shared_task(base=SplitTask, bind=True, name="tests.faults.crash_tasks.killer_split_task", **SPLIT_OPTIONS)
def killer_split_task(self, job_id: str, resume: bool = False) -> None:
    """Like a split whose reader aborts the process (a native allocation failure): the worker
    process dies mid-task, every time it is delivered."""
    self.guarded(lambda: os.kill(os.getpid(), signal.SIGKILL), job_id, resume)
