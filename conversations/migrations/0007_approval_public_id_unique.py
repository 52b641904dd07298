# Step 3 of 3: every approval has its own id now; require one, unique, new ones random.

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0006_fill_purpose_and_approval_public_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="approval",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
