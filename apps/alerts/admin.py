from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.accounts.selectors import request_actor
from apps.alerts import services
from apps.alerts.channels.registry import KINDS
from apps.alerts.constants import DeliveryStatus
from apps.alerts.crypto import secrets_encrypt
from apps.alerts.evaluators.base import RuleParamsError
from apps.alerts.models import (
    Alert,
    AlertRule,
    Channel,
    Delivery,
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    Silence,
)
from apps.core.admin import ReadOnlyAdmin


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = (*services.RULE_FIELDS, "channels")

    def clean(self):
        data = super().clean() or {}
        try:
            data["params"] = services.rule_params_clean(
                data.get("kind", ""), data.get("params") or {}
            )
        except RuleParamsError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ("name", "kind", "severity", "enabled", "updated_at")
    list_filter = ("kind", "severity", "enabled")
    search_fields = ("name",)
    filter_horizontal = ("channels",)

    def save_model(self, request, obj, form, change):
        """Save; a rule saved disabled has its open alerts resolved."""
        super().save_model(request, obj, form, change)
        services.rule_alerts_close(rule=obj, actor=request_actor(request), now=timezone.now())


class ChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(kind, kind) for kind in sorted(KINDS)])
    config = forms.JSONField(
        required=False,
        help_text="Secret fields (webhook secret, Slack url, GitHub token, Sentry dsn) are "
        "write-only: leave them out to keep the stored ones.",
    )

    class Meta:
        model = Channel
        fields = ("name", "kind", "config", "enabled")

    def clean(self):
        data = super().clean() or {}
        kind = data.get("kind", "")
        try:
            merged = services.channel_config_merged(self.instance, kind, data.get("config") or {})
            plain, secret = services.channel_config_split(kind, merged)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        data["config"], self.secret_values = plain, secret
        return data

    def save(self, commit=True):
        self.instance.secrets_token = (
            secrets_encrypt(self.secret_values) if self.secret_values else ""
        )
        return super().save(commit)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "enabled", "updated_at")
    list_filter = ("kind", "enabled")
    actions = ["send_test"]

    @admin.action(description="Send a test notification")
    def send_test(self, request, queryset) -> None:
        for channel in queryset:
            delivery = services.channel_test(channel=channel, actor=request_actor(request))
            level = messages.SUCCESS if delivery.status == DeliveryStatus.SENT else messages.ERROR
            self.message_user(
                request, f"{channel.name}: {delivery.status} {delivery.last_error}", level
            )


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    filter_horizontal = ("channels",)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "repeat")
    inlines = [EscalationStepInline]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("rule", "state", "severity", "summary", "starts_at", "ends_at", "flapping")
    list_filter = ("state", "severity", "flapping")
    search_fields = ("summary", "fingerprint")
    date_hierarchy = "starts_at"
    actions = ["acknowledge", "resolve"]  # type: ignore[assignment]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # the list, for its bulk actions; never the edit form

    @admin.action(description="Acknowledge selected firing alerts")
    def acknowledge(self, request, queryset) -> None:
        self._act(request, queryset, services.alert_acknowledge)

    @admin.action(description="Resolve selected alerts")
    def resolve(self, request, queryset) -> None:
        self._act(request, queryset, services.alert_resolve)

    def _act(self, request, queryset, act) -> None:
        done, actor = 0, request_actor(request)
        for alert in queryset:
            try:
                act(alert=alert, actor=actor, reason="admin action")
                done += 1
            except services.AlertError as exc:
                self.message_user(request, f"alert {alert.pk}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} alerts changed.", messages.SUCCESS)


class SilenceForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ("matchers", "starts_at", "ends_at", "comment")

    def clean_matchers(self):
        try:
            return services.silence_matchers_clean(self.cleaned_data.get("matchers"))
        except services.AlertError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = ("pk", "matchers", "starts_at", "ends_at", "creator", "comment", "expired_at")
    fields = ("matchers", "starts_at", "ends_at", "comment")
    actions = ["expire"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by, obj.creator = request.user, request.user.get_username()
        super().save_model(request, obj, form, change)

    @admin.action(description="End selected silences now")
    def expire(self, request, queryset) -> None:
        for silence in queryset.filter(expired_at__isnull=True):
            services.silence_expire(silence=silence, actor=request_actor(request))


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "outcome", "status_code", "error", "latency_ms")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "event",
        "channel",
        "recipients_role",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "event")
    inlines = [AttemptInline]
    actions = ["replay"]  # type: ignore[assignment]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    @admin.action(description="Replay selected dead deliveries")
    def replay(self, request, queryset) -> None:
        count = services.deliveries_replay(
            delivery_ids=list(queryset.values_list("pk", flat=True)),
            actor=request_actor(request),
            now=timezone.now(),
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
