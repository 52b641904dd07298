# ShadowConversation and ShadowPair now belong to conversations (rollout decides the arm;
# conversations owns the hidden conversations and the pairs). Only Django's state moves: the
# tables and their rows stay, and conversations 0008 takes them over under the same names.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rollout", "0001_initial"),
        # conversations 0006 reads ShadowConversation from rollout's state: it runs first.
        ("conversations", "0007_approval_public_id_unique"),
        # analytics 0006 reads it from rollout's state too.
        ("analytics", "0006_shadow_conversations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ShadowPair"),
                migrations.DeleteModel(name="ShadowConversation"),
            ],
            database_operations=[],
        ),
    ]
