from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("emails", "0005_send_basis"),
    ]

    operations = [
        migrations.AddField(
            model_name="email",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
