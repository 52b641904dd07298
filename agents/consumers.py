"""The Knowledge page's socket: authorises (an operator of the session's account), joins the
account's knowledge group and, whenever a document's status or ingestion progress changes,
sends its collection's re-rendered document list as an htmx out-of-band fragment."""

from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from accounts.middleware import SESSION_ACCOUNT_KEY
from accounts.selectors import membership_current
from agents.knowledge.realtime import DocumentEvent, account_group
from agents.knowledge.selectors import document_for_account, documents_for_account

db = partial(database_sync_to_async, thread_sensitive=False)


def _operator_membership(user, account_id: int | None):
    membership = membership_current(user=user, account_id=account_id) if user.is_authenticated else None
    return membership if membership is not None and membership.is_operator else None


def _collection_html(account_id: int, document_id: int, is_admin: bool) -> str:
    """The document's collection's list, re-rendered: a page opened before the document existed
    has the list (never the row), so a new document appears too."""
    document = document_for_account(account_id=account_id, document_id=document_id)
    if document is None:  # deleted since, or (never, the group is the account's) another account's
        return ""
    documents = documents_for_account(account_id=account_id).filter(collection_id=document.collection_id)
    context = {
        "collection": document.collection,
        "documents": documents.order_by("title", "pk"),
        "is_admin": is_admin,
        "oob": True,
    }
    return render_to_string("agents/_knowledge_documents.html", context)


class KnowledgeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        session = self.scope.get("session")
        account_id = session.get(SESSION_ACCOUNT_KEY) if session else None
        membership = await db(_operator_membership)(self.scope["user"], account_id)
        if membership is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.account_id = membership.account_id
        self.is_admin = membership.is_admin
        self.group = account_group(self.account_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def knowledge_document(self, event: DocumentEvent) -> None:
        html = await db(_collection_html)(self.account_id, event["document_id"], self.is_admin)
        if html:
            await self.send(text_data=html)
