"""The alerts API: lifecycle actions by role, silences, rules and channels, import and export."""

import json
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from apps.alerts import engine, notify
from apps.alerts.constants import AlertState
from apps.alerts.models import Alert, AlertRule, Channel, Delivery, NotificationGroup, Silence
from apps.audit.models import AuditEvent
from tests.alerts.factories import ChannelFactory, RuleFactory, cpu
from tests.conftest import key_client

pytestmark = pytest.mark.django_db

RULE = {
    "name": "cpu hot",
    "kind": "metric_threshold",
    "severity": "high",
    "params": {
        "metric": "cpu_percent",
        "service": "api",
        "labels": {"host": "a"},
        "agg": "avg",
        "window_s": 60,
        "op": ">",
        "threshold": 90,
        "for_s": 0,
    },
}


def _post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def firing():
    RuleFactory()
    cpu(97)
    engine.rules_evaluate(now=timezone.now())
    return Alert.objects.get()


def test_alerts_are_listed_and_filtered_by_state_and_severity(viewer_client, firing):
    everything = viewer_client.get("/api/v1/alerts").json()["results"]
    resolved = viewer_client.get("/api/v1/alerts?state=resolved").json()["results"]
    critical = viewer_client.get("/api/v1/alerts?severity=critical").json()["results"]

    assert [a["id"] for a in everything] == [firing.pk]
    assert everything[0]["state"] == "firing" and everything[0]["severity"] == "high"
    assert everything[0]["notifications"] == []
    assert resolved == [] and critical == []


def test_an_alert_shows_its_transitions(viewer_client, firing):
    body = viewer_client.get(f"/api/v1/alerts/{firing.pk}").json()

    assert [t["to_state"] for t in body["transitions"]] == ["pending", "firing"]


def test_viewers_cannot_acknowledge(viewer_client, firing):
    assert _post(viewer_client, f"/api/v1/alerts/{firing.pk}/acknowledge").status_code == 403


def test_operators_acknowledge_and_resolve_with_audit(operator_client, firing):
    ack = _post(operator_client, f"/api/v1/alerts/{firing.pk}/acknowledge", {"reason": "on it"})
    again = _post(operator_client, f"/api/v1/alerts/{firing.pk}/acknowledge")
    resolved = _post(operator_client, f"/api/v1/alerts/{firing.pk}/resolve")

    audit = AuditEvent.objects.get(action="alert.acknowledged")
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "otto"
    assert again.status_code == 400
    assert resolved.json()["state"] == "resolved"
    assert "on it" in audit.details_json


def test_an_acknowledged_alert_is_not_escalated_or_repeated(operator_client, firing):
    _post(operator_client, f"/api/v1/alerts/{firing.pk}/acknowledge")

    engine.rules_evaluate(now=timezone.now())

    assert Alert.objects.get().state == AlertState.ACKNOWLEDGED


def test_operators_silence_by_label_and_end_the_silence(operator_client, firing):
    ends = (timezone.now() + timedelta(hours=1)).isoformat()
    made = _post(
        operator_client,
        "/api/v1/silences",
        {
            "matchers": [{"label": "host", "op": "=", "value": "a"}],
            "ends_at": ends,
            "comment": "deploy",
        },
    )
    silenced = Alert.objects.get().state
    ended = operator_client.delete(f"/api/v1/silences/{made.json()['id']}")

    assert made.status_code == 201 and made.json()["creator"] == "otto"
    assert silenced == AlertState.SILENCED
    assert ended.status_code == 204
    assert Silence.objects.get().expired_at is not None


def test_silence_times_may_be_epoch_seconds_as_everywhere_else(operator_client):
    ends = timezone.now().timestamp() + 3600

    made = _post(
        operator_client,
        "/api/v1/silences",
        {"matchers": [{"label": "host", "op": "=", "value": "a"}], "ends_at": ends},
    )

    assert made.status_code == 201, made.content
    assert abs(Silence.objects.get().ends_at.timestamp() - ends) < 0.001


@pytest.mark.parametrize("ends_at", [True, "soon", 1e300, -1e300])
def test_silence_times_that_are_no_time_are_a_400(operator_client, ends_at):
    matchers = [{"label": "host", "op": "=", "value": "a"}]

    response = _post(
        operator_client, "/api/v1/silences", {"matchers": matchers, "ends_at": ends_at}
    )

    assert response.status_code == 400
    assert "ends_at" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "matchers",
    [
        [],
        [{"label": "host"}],
        [{"label": "host", "op": "~", "value": "a"}],
        [{"label": "h", "op": "=~", "value": "("}],
    ],
)
def test_bad_silence_matchers_are_a_400(operator_client, matchers):
    ends = (timezone.now() + timedelta(hours=1)).isoformat()

    response = _post(operator_client, "/api/v1/silences", {"matchers": matchers, "ends_at": ends})

    assert response.status_code == 400


def test_viewers_cannot_silence(viewer_client):
    ends = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {"matchers": [{"label": "host", "op": "=", "value": "a"}], "ends_at": ends}

    assert _post(viewer_client, "/api/v1/silences", body).status_code == 403


def test_admins_create_the_api_md_rule_and_operators_cannot(admin_client, operator_client):
    channel = ChannelFactory()
    body = {**RULE, "channels": [channel.pk]}

    denied = _post(operator_client, "/api/v1/alert-rules", body)
    created = _post(admin_client, "/api/v1/alert-rules", body)

    rule = AlertRule.objects.get()
    assert denied.status_code == 403
    assert created.status_code == 201
    assert created.json()["severity"] == "high" and created.json()["channels"] == [channel.pk]
    assert rule.params["keep_firing_for_s"] == 0  # filled in by the kind's defaults
    assert AuditEvent.objects.filter(action="alerts.rule_created").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"params": {"metric": "cpu", "op": "=>"}}, "params"),
        ({"params": {"metric": "cpu", "window_s": -1}}, "params"),
        ({"severity": "urgent"}, "severity"),
    ],
)
def test_bad_rules_are_a_400_naming_the_field(admin_client, change, field):
    response = _post(admin_client, "/api/v1/alert-rules", {**RULE, **change})

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_admins_change_and_delete_rules(admin_client):
    rule = RuleFactory()

    changed = admin_client.patch(
        f"/api/v1/alert-rules/{rule.pk}", {"enabled": False}, content_type="application/json"
    )
    deleted = admin_client.delete(f"/api/v1/alert-rules/{rule.pk}")

    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert deleted.status_code == 204
    assert not AlertRule.objects.exists()


def test_channel_secrets_are_write_only_and_stored_encrypted(admin_client):
    created = _post(
        admin_client,
        "/api/v1/channels",
        {
            "name": "ops-hook",
            "kind": "webhook",
            "config": {"url": "http://127.0.0.1:9000/hook", "secret": "s3cret"},
        },
    )
    shown = admin_client.get(f"/api/v1/channels/{created.json()['id']}").json()

    stored = Channel.objects.get()
    assert created.status_code == 201
    assert "secret" not in shown["config"] and shown["secret_fields_set"] == ["secret"]
    assert "s3cret" not in stored.secrets_token and "s3cret" not in str(stored.config)


def test_patching_a_channel_without_its_secret_keeps_it(admin_client):
    channel_id = _post(
        admin_client,
        "/api/v1/channels",
        {"name": "h", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/a", "secret": "s"}},
    ).json()["id"]

    admin_client.patch(
        f"/api/v1/channels/{channel_id}",
        {"config": {"url": "http://127.0.0.1:9/b"}},
        content_type="application/json",
    )

    shown = admin_client.get(f"/api/v1/channels/{channel_id}").json()
    assert shown["config"]["url"] == "http://127.0.0.1:9/b"
    assert shown["secret_fields_set"] == ["secret"]


def test_only_admins_see_channels(operator_client, make_key):
    ChannelFactory()

    assert operator_client.get("/api/v1/channels").status_code == 403
    assert key_client(make_key("read")).get("/api/v1/channels").status_code == 403


def test_a_bad_channel_config_is_a_400(admin_client):
    response = _post(
        admin_client,
        "/api/v1/channels",
        {"name": "x", "kind": "webhook", "config": {"url": "ftp://x"}},
    )

    assert response.status_code == 400


def test_rules_round_trip_through_yaml_export_and_import(admin_client):
    ChannelFactory(name="ops-hook")
    RuleFactory(name="cpu hot", channels=[Channel.objects.get()], labels={"team": "core"})
    exported = admin_client.get("/api/v1/alert-rules/export?format=yaml")
    document = yaml.safe_load(exported.content)
    AlertRule.objects.all().delete()

    imported = admin_client.post(
        "/api/v1/alert-rules/import", exported.content, content_type="application/yaml"
    )
    again = admin_client.post(
        "/api/v1/alert-rules/import", document, content_type="application/json"
    )

    rule = AlertRule.objects.get()
    assert document["rules"][0]["channels"] == ["ops-hook"]
    assert imported.json() == {"created": 1, "updated": 0}
    assert again.json() == {"created": 0, "updated": 1}
    assert rule.labels == {"team": "core"} and list(
        rule.channels.values_list("name", flat=True)
    ) == ["ops-hook"]


def test_an_import_with_one_bad_rule_imports_nothing(admin_client):
    document = {"rules": [RULE, {**RULE, "name": "other", "channels": ["missing"]}]}

    response = _post(admin_client, "/api/v1/alert-rules/import", document)

    assert response.status_code == 400
    assert "rules[1]" in response.json()["error"]["details"]
    assert not AlertRule.objects.exists()


def test_an_import_holding_nul_is_a_400(admin_client):
    document = {"rules": [{**RULE, "labels": {"team": "co\x00re"}}]}

    response = _post(admin_client, "/api/v1/alert-rules/import", document)

    assert response.status_code == 400
    assert not AlertRule.objects.exists()


def test_malformed_yaml_is_a_400(admin_client):
    response = admin_client.post(
        "/api/v1/alert-rules/import", b"rules: [", content_type="application/yaml"
    )

    assert response.status_code == 400


def _silence_body(value: str, op: str = "=") -> dict:
    ends = timezone.now().timestamp() + 60
    return {"matchers": [{"label": "nomatch", "op": op, "value": value}], "ends_at": ends}


@pytest.mark.parametrize(
    "value, op", [("(" * 150 + ")" * 150, "=~"), ("a" * 300, "="), ("a" * 201, "!=")]
)
def test_a_matcher_value_longer_than_stored_is_a_400_naming_the_limit(operator_client, value, op):
    response = _post(operator_client, "/api/v1/silences", _silence_body(value, op))

    assert response.status_code == 400
    assert "200 characters" in response.json()["error"]["details"]["matchers"]
    assert not Silence.objects.exists()


def test_a_matcher_value_of_the_stored_length_is_kept_whole(operator_client):
    response = _post(operator_client, "/api/v1/silences", _silence_body("a" * 200))

    assert response.status_code == 201
    assert Silence.objects.get().matchers[0]["value"] == "a" * 200


def test_a_stored_silence_whose_regex_does_not_compile_silences_nothing():
    Silence.objects.create(
        matchers=[{"label": "host", "op": "=~", "value": "(" * 150}],
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    RuleFactory()
    cpu(97)

    engine.rules_evaluate(now=timezone.now())

    assert Alert.objects.get().state == AlertState.FIRING


def test_a_catastrophic_backtracking_silence_regex_is_matched_in_linear_time():
    # Python's re would take hours on this label; RE2 answers at once, and does not match.
    Silence.objects.create(
        matchers=[{"label": "host", "op": "=~", "value": "(a+)+$"}],
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    RuleFactory(params={**RuleFactory.build().params, "group_by": "host"})
    cpu(97, host="a" * 150 + "!")

    engine.rules_evaluate(now=timezone.now())

    alert = Alert.objects.get()
    assert (alert.labels["host"], alert.state) == ("a" * 150 + "!", AlertState.FIRING)


def test_a_silence_regex_re2_cannot_run_is_a_400_saying_why(operator_client):
    response = _post(operator_client, "/api/v1/silences", _silence_body(r"(a)\1", "=~"))

    assert response.status_code == 400
    assert "RE2" in response.json()["error"]["details"]["matchers"]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_read_or_a_write_key_lists_silences(make_key, scope):
    response = key_client(make_key(scope)).get("/api/v1/silences")

    assert response.status_code == 200 and response.json()["results"] == []


def test_a_read_key_cannot_add_a_silence(make_key):
    response = _post(key_client(make_key("read")), "/api/v1/silences", _silence_body("a"))

    assert response.status_code == 403


def _channel(client, kind: str, config: dict) -> int:
    created = _post(client, "/api/v1/channels", {"name": "c", "kind": kind, "config": config})
    assert created.status_code == 201, created.content
    return created.json()["id"]


def _patch(client, url: str, body: dict):
    return client.patch(url, body, content_type="application/json")


def test_changing_a_webhook_into_slack_makes_its_url_a_write_only_secret(admin_client):
    url = "https://hooks.slack.com/services/T0/B0/SECRETPART"
    channel_id = _channel(admin_client, "webhook", {"url": url})

    changed = _patch(admin_client, f"/api/v1/channels/{channel_id}", {"kind": "slack"})

    assert changed.status_code == 200
    assert changed.json()["config"] == {} and changed.json()["secret_fields_set"] == ["url"]
    assert "SECRETPART" not in str(Channel.objects.get().config)


@pytest.mark.parametrize("kind", ["github", "email", "sentry"])
def test_changing_the_kind_alone_checks_the_stored_config_as_the_new_kind(admin_client, kind):
    channel_id = _channel(admin_client, "webhook", {"url": "http://127.0.0.1:9/hook"})

    changed = _patch(admin_client, f"/api/v1/channels/{channel_id}", {"kind": kind})

    assert changed.status_code == 400
    assert f"suit a {kind} channel" in changed.json()["error"]["details"]["config"][0]
    assert Channel.objects.get().kind == "webhook"


def test_changing_the_kind_with_a_whole_new_config_is_checked_as_a_post_of_that_kind(admin_client):
    channel_id = _channel(admin_client, "webhook", {"url": "http://127.0.0.1:9/a", "secret": "s"})
    url = f"/api/v1/channels/{channel_id}"

    incomplete = _patch(admin_client, url, {"kind": "github", "config": {"repo": "o/n"}})
    changed = _patch(admin_client, url, {"kind": "email", "config": {"role": "operator"}})

    assert incomplete.status_code == 400
    assert changed.status_code == 200 and changed.json()["config"] == {"role": "operator"}
    assert changed.json()["secret_fields_set"] == []


def test_changing_a_slack_channel_into_a_webhook_never_shows_its_secret_url(admin_client):
    channel_id = _channel(admin_client, "slack", {"url": "https://hooks.slack.com/services/X"})

    changed = _patch(admin_client, f"/api/v1/channels/{channel_id}", {"kind": "webhook"})

    assert changed.status_code == 400
    assert "hooks.slack.com" not in changed.content.decode()


def test_testing_a_channel_whose_stored_config_is_broken_is_a_dead_delivery(admin_client):
    channel = ChannelFactory(kind="email", config={"url": "http://127.0.0.1:9/hook"})

    response = _post(admin_client, f"/api/v1/channels/{channel.pk}/test")

    assert response.status_code == 200
    assert response.json()["status"] == "dead"
    assert "stored config of this email channel" in response.json()["last_error"]


@pytest.mark.parametrize(
    "method, url, what",
    [
        ("get", "/api/v1/alert-rules/999", "alert rule"),
        ("get", "/api/v1/channels/999", "channel"),
        ("get", "/api/v1/alerts/999", "alert"),
        ("post", "/api/v1/alerts/999/acknowledge", "alert"),
        ("delete", "/api/v1/silences/999", "silence"),
    ],
)
def test_a_missing_object_is_a_404_saying_what_is_missing(admin_client, method, url, what):
    response = getattr(admin_client, method)(url, content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"No such {what}."


def test_a_metric_absence_rule_may_name_neither_metric_nor_service(admin_client):
    body = {"name": "absent2", "kind": "metric_absence", "params": {"for_s": 60}}

    response = _post(admin_client, "/api/v1/alert-rules", body)

    assert response.status_code == 201, response.content
    assert response.json()["params"]["for_s"] == 60


def _fire_and_notify(rule) -> Alert:
    now = timezone.now()
    cpu(97, at=now)
    engine.rules_evaluate(now=now)
    _flush_groups(now + timedelta(seconds=2))
    return Alert.objects.get()


def _flush_groups(at) -> None:
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=at)


def test_disabling_a_rule_resolves_its_alerts_tells_receivers_and_stops_repeats(admin_client):
    rule = RuleFactory(channels=[ChannelFactory()], repeat_interval_s=60)
    alert = _fire_and_notify(rule)

    changed = _patch(admin_client, f"/api/v1/alert-rules/{rule.pk}", {"enabled": False})
    _flush_groups(timezone.now() + timedelta(minutes=10))
    repeats = notify.repeat_due(now=timezone.now() + timedelta(hours=2))

    alert.refresh_from_db()
    assert changed.status_code == 200 and alert.state == AlertState.RESOLVED
    assert list(Delivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "firing",
        "resolved",
    ]
    assert repeats == 0
    audited = AuditEvent.objects.get(action="alert.resolved", target=f"alert:{alert.pk}")
    assert json.loads(audited.details_json)["reason"] == "rule disabled"
    assert audited.actor_kind != "system"


def test_importing_a_rule_disabled_resolves_its_alerts(admin_client):
    rule = RuleFactory(name="cpu hot", channels=[ChannelFactory()])
    alert = _fire_and_notify(rule)

    imported = _post(
        admin_client, "/api/v1/alert-rules/import", {"rules": [{**RULE, "enabled": False}]}
    )

    alert.refresh_from_db()
    assert imported.json() == {"created": 0, "updated": 1}
    assert alert.state == AlertState.RESOLVED
