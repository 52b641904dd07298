# Step 2 of 3: a distinct random id for each existing approval, and the purpose of the
# rollout's existing shadow conversations (before this, only their ShadowConversation row
# marked them hidden).

import uuid

from django.db import migrations


def fill(apps, schema_editor):
    Approval = apps.get_model("conversations", "Approval")
    Conversation = apps.get_model("conversations", "Conversation")
    ShadowConversation = apps.get_model("rollout", "ShadowConversation")

    for approval in Approval.objects.filter(public_id__isnull=True).only("pk").iterator():
        Approval.objects.filter(pk=approval.pk).update(public_id=uuid.uuid4())
    Conversation.objects.filter(
        pk__in=ShadowConversation.objects.values_list("conversation_id", flat=True)
    ).update(purpose="shadow")


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_conversation_purpose_approval_public_id"),
        ("rollout", "0001_initial"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
