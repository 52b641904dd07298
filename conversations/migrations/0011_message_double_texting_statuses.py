# Double texting: a reply can be queued behind the one before it, interrupted by a newer
# message, or discarded (rolled back) by one. Only the choices change; no column does.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0010_message_variants"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("streaming", "Streaming"),
                    ("awaiting_approval", "Awaiting approval"),
                    ("complete", "Complete"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("queued", "Queued behind the reply before it"),
                    ("interrupted", "Interrupted by a newer message"),
                    ("discarded", "Discarded by a newer message"),
                ],
                default="complete",
                max_length=20,
            ),
        ),
    ]
