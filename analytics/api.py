"""JSON API of the analytics app, mounted under /api/."""

from ninja import Router

router = Router(tags=["analytics"])
