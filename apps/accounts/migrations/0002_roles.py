"""Create the role groups. Their permissions are granted by services.roles_sync after every
migrate (post_migrate), so that the models of apps added later are covered too."""

from django.db import migrations

ROLES = ("viewer", "operator", "admin")


def create_role_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for role in ROLES:
        group_model.objects.get_or_create(name=role)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
