"""API keys and login attempts. Roles are Django groups (see services.roles_sync)."""

from datetime import datetime

from django.conf import settings
from django.db import models

from apps.accounts.constants import SCOPE_IMPLIES, LoginOutcome


class ApiKey(models.Model):
    """A key `aivmon_<prefix>_<secret>`: the prefix is stored plainly, the secret only hashed."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="The key works only while its owner is active.",
    )
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (aivmon_{self.prefix}_…)"

    def is_usable(self, now: datetime) -> bool:
        """True unless revoked or expired."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        granted = set(self.scopes)
        for held in self.scopes:
            granted |= SCOPE_IMPLIES.get(held, set())
        return scope in granted


class LoginAttempt(models.Model):
    """Every sign-in attempt, for lockouts and for the security app to read."""

    created_at = models.DateTimeField()
    username = models.CharField(max_length=150, help_text="As typed, lower-cased.")
    ip = models.CharField(max_length=45, blank=True)
    outcome = models.CharField(
        max_length=8,
        choices=[(o, o) for o in (LoginOutcome.SUCCESS, LoginOutcome.FAILURE, LoginOutcome.LOCKED)],
    )
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["username", "outcome", "created_at"]),
            models.Index(fields=["ip", "outcome", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.username} from {self.ip}"
