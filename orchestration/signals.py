"""Signals other apps listen to.

``run_finished`` is sent once per run, with ``run=<WorkflowRun>``, after the transaction
that gave the run its final status (completed, failed or cancelled) has committed.
"""

from django.dispatch import Signal

run_finished = Signal()
