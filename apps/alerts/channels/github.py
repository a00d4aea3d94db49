"""GitHub channel: one issue per alert fingerprint, through PyGithub.

Config: `{"repo": "owner/name", "token", "base_url"?, "labels"?}`; `token` is stored encrypted.
`base_url` points at GitHub Enterprise (`https://host/api/v3`) or a local double.

The issue is found again by a marker in its body among the open issues labelled `aivmon`, through
the list API: search is eventually consistent on GitHub and would open duplicates.
Firing (or escalated) with no open issue opens one; with one, it gets a comment. Acknowledged
comments; resolved comments and closes. A test opens an issue and closes it at once, which proves
that the token may write.
"""

import re
import time
from collections.abc import Mapping
from typing import Any

import requests
from github import Auth, Github, GithubException, RateLimitExceededException
from github.Issue import Issue
from github.Repository import Repository

from apps.alerts.channels.base import (
    AlertView,
    ChannelError,
    FinalError,
    Notification,
    RetryableError,
    SendResult,
    Target,
)
from apps.alerts.channels.http import retry_after_s, validate_http_url
from apps.alerts.channels.webhook import rfc3339

DEFAULT_BASE_URL = "https://api.github.com"
ISSUE_LABEL = "aivmon"
MAX_LABEL_CHARS = 50  # GitHub's limit on a label name
MAX_TITLE_CHARS = 200
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_MARKER = re.compile(r"<!-- aivmon-fingerprint: (\S+) -->")


def marker(fingerprint: str) -> str:
    """Return the hidden line that ties an issue to an alert fingerprint."""
    return f"<!-- aivmon-fingerprint: {fingerprint} -->"


class GitHubChannel:
    kind = "github"
    secret_fields: tuple[str, ...] = ("token",)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"repo", "token", "base_url", "labels"}
        if unknown:
            raise ValueError(f"unknown github settings: {', '.join(sorted(unknown))}")
        repo = config.get("repo")
        if not isinstance(repo, str) or not _REPO.match(repo):
            raise ValueError('repo: must be "owner/name"')
        token = config.get("token")
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token: a GitHub token is required")
        cleaned: dict[str, Any] = {"repo": repo, "token": token.strip()}
        if config.get("base_url"):
            base_url = validate_http_url(config["base_url"], field="base_url").rstrip("/")
            cleaned["base_url"] = base_url
        if config.get("labels"):
            cleaned["labels"] = _validate_labels(config["labels"])
        return cleaned

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        conf = {**target.config, **target.secrets}
        client = Github(
            base_url=conf.get("base_url") or DEFAULT_BASE_URL,
            auth=Auth.Token(conf["token"]),
            timeout=max(1, round(timeout_s)),
            # The delivery task owns retries and waits; a channel never sleeps.
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        try:
            repo = client.get_repo(conf["repo"])
            issues = {} if notification.event == "test" else open_issues(repo)
            details = [
                _deliver(repo, issues.get(alert.fingerprint), notification.event, alert, conf)
                for alert in notification.alerts
            ]
        except GithubException as exc:
            raise github_error(exc) from exc
        except requests.Timeout as exc:
            raise RetryableError(f"GitHub did not answer within {timeout_s:g} s") from exc
        except requests.RequestException as exc:
            raise RetryableError(f"cannot reach GitHub: {type(exc).__name__}") from exc
        finally:
            client.close()
        return SendResult(detail=" ".join(detail for detail in details if detail))


def _deliver(
    repo: Repository,
    issue: Issue | None,
    event: str,
    alert: AlertView,
    conf: Mapping[str, Any],
) -> str:
    if event == "test":
        issue = _open_issue(repo, alert, conf, title_prefix="[aivmon test] ")
        issue.edit(state="closed", state_reason="completed")
        return issue.html_url
    if issue is None:
        if event in ("firing", "escalated"):
            return _open_issue(repo, alert, conf).html_url
        return ""  # nothing open to update: the alert never reached GitHub, or was closed by hand
    issue.create_comment(comment_body(event, alert))
    if event == "resolved":
        issue.edit(state="closed", state_reason="completed")
    return issue.html_url


def open_issues(repo: Repository) -> dict[str, Issue]:
    """Return the open aivmon issues by fingerprint, following every page of the list."""
    issues: dict[str, Issue] = {}
    for issue in repo.get_issues(state="open", labels=[ISSUE_LABEL]):
        found = _MARKER.search(issue.body or "")
        if found:
            issues.setdefault(found.group(1), issue)
    return issues


def _open_issue(
    repo: Repository, alert: AlertView, conf: Mapping[str, Any], *, title_prefix: str = ""
) -> Issue:
    labels = list(dict.fromkeys([ISSUE_LABEL, alert.severity, *conf.get("labels", [])]))
    title = (title_prefix + alert.summary)[:MAX_TITLE_CHARS]
    return repo.create_issue(title=title, body=issue_body(alert), labels=labels)


def issue_body(alert: AlertView) -> str:
    """Return the Markdown body of a new issue, ending with the fingerprint marker."""
    lines = [
        f"**{alert.severity.upper()}** alert from rule `{alert.rule}`.",
        "",
        alert.description,
        "",
        f"- State: {alert.state}",
        f"- Since: {rfc3339(alert.starts_at)}",
    ]
    if alert.value is not None:
        lines.append(f"- Value: {alert.value:g}")
    lines.extend(f"- `{name}`: `{value}`" for name, value in sorted(alert.labels.items()))
    lines.append("")
    lines.append(f"[Open in aivmon]({alert.url})")
    if alert.runbook_url:
        lines.append(f"[Runbook]({alert.runbook_url})")
    lines.extend(["", marker(alert.fingerprint)])
    return "\n".join(lines)


def comment_body(event: str, alert: AlertView) -> str:
    """Return the comment for a later event about the same fingerprint."""
    what = {
        "firing": "Fired again",
        "escalated": "Escalated: still unacknowledged",
        "acknowledged": "Acknowledged",
        "resolved": "Resolved",
    }.get(event, event.capitalize())
    value = f" (value {alert.value:g})" if alert.value is not None else ""
    when = f" at {rfc3339(alert.ends_at)}" if event == "resolved" and alert.ends_at else ""
    return f"**{what}**{when}{value}: {alert.summary}\n\n[Open in aivmon]({alert.url})"


def github_error(exc: GithubException) -> ChannelError:
    """Map a GitHub API error: 5xx, 429 and rate limits may pass later, other 4xx not."""
    headers = {name.lower(): value for name, value in (exc.headers or {}).items()}
    detail = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    message = f"GitHub answered {exc.status}" + (f": {detail}" if detail else "")
    if isinstance(exc, RateLimitExceededException) or exc.status == 429 or exc.status >= 500:
        retry_after = retry_after_s(headers.get("retry-after")) or _until_reset_s(headers)
        return RetryableError(message, status_code=exc.status, retry_after_s=retry_after)
    return FinalError(message, status_code=exc.status)


def _until_reset_s(headers: Mapping[str, str]) -> float | None:
    if headers.get("x-ratelimit-remaining") != "0" or "x-ratelimit-reset" not in headers:
        return None
    try:
        return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
    except ValueError:
        return None


def _validate_labels(labels: object) -> list[str]:
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError("labels: must be a list of strings")
    cleaned = [label.strip() for label in labels if label.strip()]
    too_long = [label for label in cleaned if len(label) > MAX_LABEL_CHARS]
    if too_long:
        raise ValueError(f"labels: at most {MAX_LABEL_CHARS} characters each ({too_long[0]!r})")
    return list(dict.fromkeys(cleaned))
