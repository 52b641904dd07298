"""The fields every piece of durable work carries (an abstract model: no table of its own).

Kept separate from ``durable/__init__`` because defining a model needs the app registry,
and the package is imported earlier than that (Celery's start-up, settings).
"""

from django.db import models


class LeasedWork(models.Model):
    """A row a worker holds under a lease while it works on it.

    ``attempts`` counts claims; ``lease_expires_at`` is set while an attempt runs and renewed
    by its heartbeat, and is empty when nobody holds the work (not started, finished, or
    waiting on something else).
    """

    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
