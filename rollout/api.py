"""JSON API of the rollout app, mounted under /api/."""

from ninja import Router

router = Router(tags=["rollout"])
