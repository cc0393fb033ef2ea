from django.db import migrations, models


def existing_prices_were_at_deadline(apps, schema_editor):
    # Until now every final price was the tick at or before verify_time.
    for name in ("Prediction", "VerificationAudit"):
        model = apps.get_model("predictions", name)
        model.objects.filter(final_price__isnull=False).update(final_price_basis="at_deadline")


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0002_fillfactor'),
    ]

    operations = [
        migrations.AddField(
            model_name='prediction',
            name='final_price_basis',
            field=models.CharField(blank=True, choices=[('at_deadline', 'at the deadline'), ('last_close', 'last close before the deadline')], max_length=16),
        ),
        migrations.AddField(
            model_name='verificationaudit',
            name='final_price_basis',
            field=models.CharField(blank=True, choices=[('at_deadline', 'at the deadline'), ('last_close', 'last close before the deadline')], max_length=16),
        ),
        migrations.RunPython(existing_prices_were_at_deadline, migrations.RunPython.noop, elidable=True),
    ]
