from typing import Any

from django.conf import settings
from django.db import migrations, models


def demo_loaded_before(apps: Any, schema_editor: Any) -> None:
    # An installation that ran the first-run setup before this table existed already has its
    # demo, or had it and erased it: loading it again would bring back what the operator
    # removed. The setup's admin account is the sign that it ran.
    user = apps.get_model(settings.AUTH_USER_MODEL)
    if user.objects.filter(is_superuser=True).exists():
        apps.get_model("consentry", "SetupStep").objects.create(name="demo")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SetupStep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=64, unique=True)),
                ("done_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(demo_loaded_before, migrations.RunPython.noop),
    ]
