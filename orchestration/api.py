"""JSON API of the orchestration app, mounted under /api/."""

from ninja import Router

router = Router(tags=["orchestration"])
