"""Typed events of the knowledge base (a document's status or ingestion progress changed) and
their channel group: the account's Knowledge pages re-read the document when one arrives."""

from __future__ import annotations

import logging
from typing import Literal, TypedDict

import redis

import realtime

logger = logging.getLogger(__name__)


class DocumentEvent(TypedDict):
    type: Literal["knowledge.document"]
    document_id: int


def account_group(account_id: int) -> str:
    return realtime.group_name("knowledge", "account", account_id)


def publish_document(account_id: int, document_id: int) -> None:
    """Tell the account's open Knowledge pages. Progress is a courtesy: the row is the truth
    (the page reads it on load), so an unreachable Redis does not stop an ingestion."""
    try:
        realtime.publish(
            account_group(account_id), {"type": "knowledge.document", "document_id": document_id}
        )
    except redis.RedisError as exc:
        logger.warning("knowledge progress not published: %s", exc)
