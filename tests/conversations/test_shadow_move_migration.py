"""Shadow conversations and pairs moved from rollout to conversations in Django's state only:
rows written while rollout owned them are read, unchanged, through conversations' models, and
the move can be undone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("conversations", "0007_approval_public_id_unique"), ("rollout", "0001_initial")]
AFTER = [("conversations", "0008_shadow_from_rollout")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # Accounts stay migrated to the latest (nothing in targets depends on their later migrations),
    # so rows are written with accounts' latest state, which matches its table.
    accounts = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "accounts"]
    return executor.loader.project_state(targets + accounts).apps


def _write_shadow(apps, label: str) -> dict:
    user = apps.get_model("auth", "User").objects.create(username=f"shadow-{label}")
    account = apps.get_model("accounts", "Account").objects.create(slug=f"shadow-{label}", name=label)
    Conversation, Message = (apps.get_model("conversations", name) for name in ("Conversation", "Message"))
    served = Conversation.objects.create(account=account, user=user, arm="legacy")
    hidden = Conversation.objects.create(account=account, user=user, arm="multi_agent", purpose="shadow")
    flag = apps.get_model("rollout", "Flag").objects.create(key=f"multi-agent-{label}")
    shadow = apps.get_model("rollout", "ShadowConversation").objects.create(
        conversation=hidden, served=served, flag=flag
    )
    question = Message.objects.create(conversation=served, role="user", content="Where is my order?")
    legacy = Message.objects.create(
        conversation=served, role="assistant", content="legacy", reply_to=question
    )
    multi = Message.objects.create(conversation=hidden, role="assistant", content="multi")
    pair = apps.get_model("rollout", "ShadowPair").objects.create(
        shadow=shadow, question=question, legacy_reply=legacy, shadow_reply=multi
    )
    return {"served": served.pk, "hidden": hidden.pk, "shadow": shadow.pk, "pair": pair.pk, "multi": multi.pk}


def test_rows_written_by_rollout_are_read_through_conversations_after_the_move():
    apps = _migrate(BEFORE)
    try:
        ids = _write_shadow(apps, "before")

        apps = _migrate(AFTER)

        with pytest.raises(LookupError):
            apps.get_model("rollout", "ShadowPair")
        ShadowConversation = apps.get_model("conversations", "ShadowConversation")
        shadow = ShadowConversation.objects.get(pk=ids["shadow"])
        assert (shadow.conversation_id, shadow.served_id) == (ids["hidden"], ids["served"])
        pair = apps.get_model("conversations", "ShadowPair").objects.get(pk=ids["pair"])
        assert pair.shadow_id == shadow.pk and pair.shadow_reply.content == "multi"
        # The related names other code uses survive the move.
        Conversation, Message = (apps.get_model("conversations", n) for n in ("Conversation", "Message"))
        assert Conversation.objects.get(pk=ids["hidden"]).rollout_shadow.pk == shadow.pk
        assert Conversation.objects.get(pk=ids["served"]).rollout_shadowed_by.pk == shadow.pk
        assert Message.objects.get(pk=ids["multi"]).rollout_shadow_pair.pk == pair.pk

        apps = _migrate(BEFORE)  # and back: rollout owns the same rows again
        assert apps.get_model("rollout", "ShadowPair").objects.filter(pk=ids["pair"]).exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
