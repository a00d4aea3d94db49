import pytest

from apps.alerts.channels.base import FinalError, RetryableError, Target
from apps.alerts.channels.github import GitHubChannel, marker
from tests.alerts.servers import free_port

CHANNEL = GitHubChannel()
REPO_ROUTE = "/repos/acme/ops"
ISSUES_ROUTE = "/repos/acme/ops/issues"


def _target(double, **config) -> Target:
    return Target(
        name="ops-github",
        kind="github",
        config={"repo": double.repo, "base_url": double.base_url, **config},
        secrets={"token": double.token},
    )


def test_a_firing_alert_opens_an_issue_with_labels_and_the_fingerprint_marker(
    github_double, make_notification
):
    result = CHANNEL.send(
        make_notification("firing"), _target(github_double, labels=["oncall"]), timeout_s=5
    )

    [issue] = github_double.issues.values()
    assert github_double.routes() == [
        ("GET", REPO_ROUTE),
        ("GET", ISSUES_ROUTE),
        ("POST", ISSUES_ROUTE),
    ]
    assert github_double.calls[1].query["labels"] == ["aivmon"]
    assert github_double.calls[1].query["state"] == ["open"]
    assert issue["title"] == "CPU above 90% on a"
    assert [label["name"] for label in issue["labels"]] == ["aivmon", "high", "oncall"]
    assert marker("3f2a9c0d1e") in issue["body"]
    assert "https://aivmon.example/alerts/7" in issue["body"]
    assert result.detail == issue["html_url"]


def test_a_refire_comments_on_the_open_issue_and_resolve_closes_it(
    github_double, make_notification
):
    target = _target(github_double)

    CHANNEL.send(make_notification("firing"), target, timeout_s=5)
    CHANNEL.send(make_notification("firing"), target, timeout_s=5)
    CHANNEL.send(make_notification("resolved"), target, timeout_s=5)

    [issue] = github_double.issues.values()
    writes = [route for route in github_double.routes() if route[0] != "GET"]
    assert writes == [
        ("POST", ISSUES_ROUTE),
        ("POST", f"{ISSUES_ROUTE}/1/comments"),
        ("POST", f"{ISSUES_ROUTE}/1/comments"),
        ("PATCH", f"{ISSUES_ROUTE}/1"),
    ]
    assert github_double.comments[1][0].startswith("**Fired again**")
    assert github_double.comments[1][1].startswith("**Resolved**")
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")


def test_a_refire_after_resolve_opens_a_new_issue(github_double, make_notification):
    target = _target(github_double)

    CHANNEL.send(make_notification("firing"), target, timeout_s=5)
    CHANNEL.send(make_notification("resolved"), target, timeout_s=5)
    CHANNEL.send(make_notification("firing"), target, timeout_s=5)

    assert [issue["state"] for issue in github_double.issues.values()] == ["closed", "open"]


def test_acknowledge_and_escalation_comment_without_closing(github_double, make_notification):
    target = _target(github_double)
    CHANNEL.send(make_notification("firing"), target, timeout_s=5)

    CHANNEL.send(make_notification("escalated"), target, timeout_s=5)
    CHANNEL.send(make_notification("acknowledged"), target, timeout_s=5)

    assert [c.split("**")[1] for c in github_double.comments[1]] == [
        "Escalated: still unacknowledged",
        "Acknowledged",
    ]
    assert github_double.issues[1]["state"] == "open"


def test_it_finds_the_issue_past_the_first_page_of_the_list(github_double, make_notification):
    github_double.page_size = 2
    for n in range(5):
        github_double.add_issue(title=f"other {n}", body=marker(f"other{n}"), labels=["aivmon"])
    github_double.add_issue(title="ours", body=marker("3f2a9c0d1e"), labels=["aivmon"])

    CHANNEL.send(make_notification("firing"), _target(github_double), timeout_s=5)

    assert len(github_double.issues) == 6
    assert list(github_double.comments) == [6]
    assert [c.query.get("page") for c in github_double.calls if c.route == ISSUES_ROUTE] == [
        None,
        ["2"],
        ["3"],
    ]


def test_an_issue_without_the_aivmon_label_is_not_reused(github_double, make_notification):
    github_double.add_issue(title="by hand", body=marker("3f2a9c0d1e"), labels=["bug"])

    CHANNEL.send(make_notification("firing"), _target(github_double), timeout_s=5)

    assert len(github_double.issues) == 2


def test_resolving_an_alert_without_an_open_issue_does_nothing(github_double, make_notification):
    CHANNEL.send(make_notification("resolved"), _target(github_double), timeout_s=5)

    assert github_double.issues == {}
    assert github_double.comments == {}


def test_a_group_opens_one_issue_per_fingerprint(github_double, make_notification, make_alert):
    alerts = [make_alert(fingerprint=f"fp{n}", summary=f"disk full on db{n}") for n in range(3)]

    CHANNEL.send(make_notification("firing", *alerts), _target(github_double), timeout_s=5)

    assert [issue["title"] for issue in github_double.issues.values()] == [
        "disk full on db0",
        "disk full on db1",
        "disk full on db2",
    ]
    assert github_double.routes().count(("GET", ISSUES_ROUTE)) == 1


def test_a_test_notification_opens_and_closes_an_issue(github_double, make_notification):
    CHANNEL.send(make_notification("test"), _target(github_double), timeout_s=5)

    [issue] = github_double.issues.values()
    assert issue["title"].startswith("[aivmon test] ")
    assert issue["state"] == "closed"


def test_an_unprocessable_request_is_final(github_double, make_notification):
    github_double.fail("POST", ISSUES_ROUTE, 422, message="Validation Failed")

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification("firing"), _target(github_double), timeout_s=5)

    assert caught.value.status_code == 422
    assert github_double.issues == {}


def test_a_bad_token_is_final(github_double, make_notification):
    target = Target(
        name="gh",
        kind="github",
        config={"repo": github_double.repo, "base_url": github_double.base_url},
        secrets={"token": "wrong"},
    )

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification("firing"), target, timeout_s=5)

    assert caught.value.status_code == 401


def test_a_missing_repository_is_final(github_double, make_notification):
    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification(), _target(github_double, repo="acme/gone"), timeout_s=5)

    assert caught.value.status_code == 404


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retryable(status, github_double, make_notification):
    github_double.fail("GET", REPO_ROUTE, status)

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(github_double), timeout_s=5)

    assert caught.value.status_code == status


def test_a_rate_limit_is_retryable_until_the_reset(github_double, make_notification):
    github_double.fail(
        "GET",
        REPO_ROUTE,
        403,
        headers={"X-RateLimit-Remaining": "0", "Retry-After": "60"},
        message="API rate limit exceeded for user ID 1.",
    )

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(github_double), timeout_s=5)

    assert (caught.value.status_code, caught.value.retry_after_s) == (403, 60)


def test_a_forbidden_request_is_final(github_double, make_notification):
    github_double.fail("POST", ISSUES_ROUTE, 403, message="Resource not accessible by integration")

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification(), _target(github_double), timeout_s=5)

    assert caught.value.status_code == 403


def test_an_unreachable_github_is_retryable(make_notification):
    target = Target(
        name="gh",
        kind="github",
        config={"repo": "acme/ops", "base_url": f"http://127.0.0.1:{free_port()}/api/v3"},
        secrets={"token": "t"},
    )

    with pytest.raises(RetryableError, match="cannot reach GitHub"):
        CHANNEL.send(make_notification(), target, timeout_s=5)


def test_validate_cleans_the_config():
    config = {
        "repo": "acme/ops",
        "token": " ghp_x ",
        "base_url": "https://ghe.example/api/v3/",
        "labels": ["oncall", " ", "oncall"],
    }

    assert CHANNEL.validate(config) == {
        "repo": "acme/ops",
        "token": "ghp_x",
        "base_url": "https://ghe.example/api/v3",
        "labels": ["oncall"],
    }


@pytest.mark.parametrize(
    "config",
    [
        {"token": "t"},
        {"repo": "acme", "token": "t"},
        {"repo": "acme/ops/x", "token": "t"},
        {"repo": "acme/ops"},
        {"repo": "acme/ops", "token": "t", "base_url": "ghe.example"},
        {"repo": "acme/ops", "token": "t", "labels": "oncall"},
        {"repo": "acme/ops", "token": "t", "labels": ["x" * 51]},
        {"repo": "acme/ops", "token": "t", "assignee": "me"},
    ],
)
def test_validate_refuses_a_bad_config(config):
    with pytest.raises(ValueError):
        CHANNEL.validate(config)
