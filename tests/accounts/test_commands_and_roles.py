import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from apps.accounts import selectors

pytestmark = pytest.mark.django_db


def test_the_three_roles_exist_with_their_permissions():
    groups = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }

    assert {"viewer", "operator", "admin"} <= set(groups)
    assert "add_apikey" in groups["admin"] and "view_auditevent" in groups["admin"]
    assert not any(name.endswith(("apikey", "auditevent", "user")) for name in groups["viewer"])


def test_create_user_reads_the_password_from_a_file(tmp_path, client):
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret-Passw0rd!\nignored\n")

    call_command(
        "create_user",
        "--username",
        "olga",
        "--role",
        "operator",
        "--password-file",
        str(password_file),
    )

    user = get_user_model().objects.get(username="olga")
    assert selectors.user_role(user) == "operator" and user.check_password("s3cret-Passw0rd!")
    assert client.login(username="olga", password="s3cret-Passw0rd!")


def test_create_user_without_a_password_file_prints_a_generated_one(capsys):
    call_command("create_user", "--username", "gus", "--role", "viewer")

    password = capsys.readouterr().out.split("password: ")[1].strip()
    assert get_user_model().objects.get(username="gus").check_password(password)


def test_create_user_refuses_an_unknown_role():
    with pytest.raises(CommandError):
        call_command("create_user", "--username", "x", "--role", "root")


def test_an_admin_holds_staff_status_and_a_demoted_admin_loses_it():
    call_command("create_user", "--username", "al", "--role", "admin")
    promoted = get_user_model().objects.get(username="al").is_staff
    call_command("create_user", "--username", "al", "--role", "viewer")

    demoted = get_user_model().objects.get(username="al")
    assert promoted and not demoted.is_staff
    assert list(demoted.groups.values_list("name", flat=True)) == ["viewer"]


def test_bootstrap_admin_creates_the_first_admin_once(capsys, monkeypatch):
    monkeypatch.setenv("AIVMON_ADMIN_PASSWORD", "first-Admin-pw!")

    call_command("bootstrap_admin")
    call_command("bootstrap_admin")

    admin = get_user_model().objects.get(username="admin")
    assert selectors.user_role(admin) == "admin" and admin.check_password("first-Admin-pw!")
    assert capsys.readouterr().out.count("created the first admin") == 1


def test_bootstrap_admin_prints_a_generated_password_once(capsys, monkeypatch):
    monkeypatch.delenv("AIVMON_ADMIN_PASSWORD", raising=False)

    call_command("bootstrap_admin")

    password = capsys.readouterr().out.split("password (shown once): ")[1].strip()
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_a_superuser_counts_as_an_admin():
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Root-123")

    assert selectors.user_role(user) == "admin"
