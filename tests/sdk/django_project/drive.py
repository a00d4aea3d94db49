"""Run the small project, send it a few requests with Django's test client, flush the SDK.

`python -m tests.sdk.django_project.drive` with AIVMON_URL, AIVMON_KEY, AIVMON_SPOOL_PATH.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.sdk.django_project.settings"

import django  # noqa: E402

django.setup()

from aivmon_sdk import django as aivmon_django  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

FAILED_LOGINS = 3
SQLI = "1' OR '1'='1' UNION SELECT username, password FROM auth_user --"


def main() -> None:
    call_command("migrate", verbosity=0)
    User.objects.create_user("alice", password="correct horse")
    client = Client(HTTP_USER_AGENT="sdk-test")
    for _ in range(FAILED_LOGINS):
        client.post("/login/", {"username": "alice", "password": "guess"})
    client.post("/login/", {"username": "alice", "password": "correct horse"})
    client.get("/search/", {"q": SQLI})
    client.get("/staff/")
    obs, _ = aivmon_django._configured()
    drained = obs.drain(timeout_s=30)
    obs.shutdown()
    raise SystemExit(0 if drained else "the spool did not drain")


if __name__ == "__main__":
    main()
