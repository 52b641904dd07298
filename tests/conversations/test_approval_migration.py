"""The migrations that give approvals their public id and conversations their purpose, run on
rows written before them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("conversations", "0005_conversation_purpose_approval_public_id"), ("rollout", "0001_initial")]
AFTER = [("conversations", "0007_approval_public_id_unique")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # Accounts stay migrated to the latest (nothing in targets depends on their later migrations),
    # so rows are written with accounts' latest state, which matches its table.
    accounts = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "accounts"]
    return executor.loader.project_state(targets + accounts).apps


def test_existing_approvals_get_distinct_ids_and_existing_shadows_become_hidden():
    apps = _migrate(BEFORE)
    try:
        user = apps.get_model("auth", "User").objects.create(username="before")
        account = apps.get_model("accounts", "Account").objects.create(slug="before", name="Before")
        Conversation = apps.get_model("conversations", "Conversation")
        Message, Turn, ToolCall, Approval = (
            apps.get_model("conversations", name) for name in ("Message", "Turn", "ToolCall", "Approval")
        )
        served = Conversation.objects.create(account=account, user=user, arm="legacy")
        hidden = Conversation.objects.create(account=account, user=user, arm="multi_agent")
        flag = apps.get_model("rollout", "Flag").objects.create(key="multi_agent")
        apps.get_model("rollout", "ShadowConversation").objects.create(
            conversation=hidden, served=served, flag=flag
        )
        for index, conversation in enumerate([served, hidden, served]):
            question = Message.objects.create(conversation=conversation, role="user", content="q")
            reply = Message.objects.create(conversation=conversation, role="assistant", reply_to=question)
            turn = Turn.objects.create(reply=reply, conversation=conversation)
            call = ToolCall.objects.create(
                conversation=conversation, turn=turn, tool_slug="ticket_create",
                idempotency_key=f"k{index}", status="awaiting_approval",
            )  # fmt: skip
            Approval.objects.create(tool_call=call, conversation=conversation)

        apps = _migrate(AFTER)

        ids = list(apps.get_model("conversations", "Approval").objects.values_list("public_id", flat=True))
        assert len(ids) == 3 and None not in ids and len(set(ids)) == 3
        purposes = dict(apps.get_model("conversations", "Conversation").objects.values_list("pk", "purpose"))
        assert purposes == {served.pk: "chat", hidden.pk: "shadow"}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
