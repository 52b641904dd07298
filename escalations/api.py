"""JSON API of the escalations app, mounted under /api/."""

from ninja import Router

router = Router(tags=["escalations"])
