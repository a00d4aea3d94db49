from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts import selectors, services
from apps.accounts.forms import ApiKeyCreateForm
from apps.accounts.models import ApiKey, LoginAttempt
from apps.core.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Create keys (the full key is shown once) and revoke them; keys are never edited."""

    list_display = (
        "name",
        "prefix",
        "owner",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "status",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "owner__username")
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "name",
            "owner",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the record of a key outlives it

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        if key.revoked_at:
            return "revoked"
        return "active" if key.is_usable(timezone.now()) else "expired"

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, raw = services.api_key_create(
            name=obj.name,
            scopes=form.cleaned_data["scopes"],
            owner=obj.owner,
            expires_at=obj.expires_at,
            actor=selectors.request_actor(request),
        )
        # The service made the row; the admin goes on with `obj` (change log, response_add).
        obj.__dict__.update(
            {f.attname: getattr(key, f.attname) for f in ApiKey._meta.concrete_fields}
        )
        obj._state.adding = False
        obj.raw_key = raw

    def response_add(self, request, obj, post_url_continue=None):
        """Show the new key once, on a page of its own (never in a redirect or a cookie)."""
        context = {
            **self.admin_site.each_context(request),
            "key": obj,
            "raw_key": obj.raw_key,
            "opts": self.opts,
            "title": "API key created",
        }
        return TemplateResponse(request, "admin/accounts/apikey/created.html", context)

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request, queryset):
        actor = selectors.request_actor(request)
        revoked = sum(services.api_key_revoke(key=key, actor=actor) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "ip", "outcome", "user_agent")
    list_filter = ("outcome",)
    search_fields = ("username", "ip")


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class AivmonUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_active", "last_login")

    @admin.display(description="role")
    def role(self, user) -> str:
        return selectors.user_role(user) or "—"
