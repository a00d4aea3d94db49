"""Real servers on 127.0.0.1 for channel tests: a recording HTTP server, SMTP, GitHub and Sentry.

Each is a context manager that starts on a free port and stops on exit:

    with RecordingHTTPServer([(500, {}, b""), (200, {}, b"ok")]) as server:
        post_to(server.url + "/hook")
        server.requests[0].json()

Responses are `(status, headers, body)`; body is bytes, str, or anything JSON-encodable.
"""

import email
import email.policy
import gzip
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

Response = tuple[int, Mapping[str, str], Any]
OK: Response = (200, {}, b"")


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (so connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    body: bytes  # as received (still gzip-compressed if it was)
    received_at: float  # time.time() when the request was read

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    @property
    def content(self) -> bytes:
        """The body, gunzipped if it came with Content-Encoding: gzip."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def json(self) -> Any:
        return json.loads(self.content)


class RecordingHTTPServer:
    """An HTTP server that records every request and answers from a script.

    `responses` are used in order, one per request; after them every request gets `default`,
    or, when `handler` is given, whatever `handler(request)` returns. `delay_s` holds every
    answer back (a slow server, for timeouts).
    """

    def __init__(
        self,
        responses: Iterable[Response] = (),
        *,
        default: Response = OK,
        handler: Callable[[RecordedRequest], Response] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self._script = list(responses)
        self._default = default
        self._handler = handler
        self._delay_s = delay_s
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "RecordingHTTPServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def wait_for_requests(self, count: int, *, timeout_s: float = 10.0) -> list[RecordedRequest]:
        """Block until `count` requests arrived (for deliveries made by other processes)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout_s)
            return list(self.requests)

    def _respond(self, request: RecordedRequest) -> Response:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
            scripted = self._script.pop(0) if self._script else None
        if self._delay_s:
            self._closing.wait(self._delay_s)
        if scripted is not None:
            return scripted
        if self._handler is not None:
            return self._handler(request)
        return self._default


def _handler_class(server: RecordingHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_any(self) -> None:
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=_read_body(self),
                received_at=time.time(),
            )
            status, headers, body = server._respond(request)
            if server._closing.is_set():
                return
            payload = _encode(body)
            self.send_response(status)
            if not any(name.lower() == "content-type" for name in headers):
                self.send_header("Content-Type", _content_type(body))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0], 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _content_type(body: Any) -> str:
    return "text/plain" if isinstance(body, bytes | str) else "application/json"


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        """Return the decoded text of the first part of this content type."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise LookupError(content_type)


@dataclass
class _SMTPHandler:
    rcpt_reply: str
    data_reply: str
    mails: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply.startswith("250"):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.mails.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return self.data_reply


class SMTPRecorder:
    """An aiosmtpd server that keeps what it receives; replies to RCPT and DATA can be scripted
    (e.g. `rcpt_reply="550 5.1.1 no such user"` or `"451 4.3.0 try again later"`)."""

    def __init__(
        self, *, rcpt_reply: str = "250 OK", data_reply: str = "250 Message accepted"
    ) -> None:
        self._handler = _SMTPHandler(rcpt_reply, data_reply)
        self.port = free_port()
        self.host = "127.0.0.1"
        self._controller = Controller(self._handler, hostname=self.host, port=self.port)

    @property
    def mails(self) -> list[ReceivedMail]:
        return self._handler.mails

    def __enter__(self) -> "SMTPRecorder":
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


# --- GitHub -----------------------------------------------------------------------------------


@dataclass
class GitHubCall:
    method: str
    route: str  # without the base prefix and the query
    query: dict[str, list[str]]
    json: Any


class GitHubDouble:
    """The part of GitHub's REST API that PyGithub uses for issues, served under `/api/v3` as
    GitHub Enterprise does. `fail(...)` scripts a one-shot error answer for a route; `page_size`
    caps how many issues one list page holds (the rest follow through the Link header)."""

    PREFIX = "/api/v3"
    TOKEN = "ghp-test"

    def __init__(self, *, token: str = TOKEN, repo: str = "acme/ops", page_size: int = 30):
        self.token = token
        self.repo = repo
        self.page_size = page_size
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}
        self.calls: list[GitHubCall] = []
        self._faults: list[tuple[str, str, Response]] = []
        self._lock = threading.Lock()
        self._server = RecordingHTTPServer(handler=self._handle)

    @property
    def base_url(self) -> str:
        return self._server.url + self.PREFIX

    def __enter__(self) -> "GitHubDouble":
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.__exit__(*exc_info)

    def add_issue(self, *, title: str, body: str, labels: list[str], state: str = "open") -> int:
        """Put an issue in the repository, as if someone had opened it before."""
        with self._lock:
            return self._create({"title": title, "body": body, "labels": labels}, state)["number"]

    def fail(
        self,
        method: str,
        route: str,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        message: str = "",
    ) -> None:
        """Answer the next `method` request to a route matching `route` (a regex) with an error."""
        body = {"message": message or f"scripted {status}"}
        self._faults.append((method, route, (status, headers or {}, body)))

    def routes(self) -> list[tuple[str, str]]:
        return [(call.method, call.route) for call in self.calls]

    def _handle(self, request: RecordedRequest) -> Response:
        route = request.route.removeprefix(self.PREFIX)
        payload = json.loads(request.content) if request.content else None
        with self._lock:
            self.calls.append(GitHubCall(request.method, route, request.query, payload))
            if request.headers.get("authorization", "").split()[-1:] != [self.token]:
                return 401, {}, {"message": "Bad credentials"}
            for fault in self._faults:
                if fault[0] == request.method and re.fullmatch(fault[1], route):
                    self._faults.remove(fault)
                    return fault[2]
            return self._route(request, route, payload)

    def _route(self, request: RecordedRequest, route: str, payload: Any) -> Response:
        repo_path = f"/repos/{self.repo}"
        if request.method == "GET" and route == repo_path:
            return 200, {}, self._repo_json()
        if request.method == "GET" and route == f"{repo_path}/issues":
            return self._list(request)
        if request.method == "POST" and route == f"{repo_path}/issues":
            return 201, {}, self._create(payload, "open")
        found = re.fullmatch(rf"{repo_path}/issues/(\d+)(/comments)?", route)
        if found and int(found.group(1)) in self.issues:
            number = int(found.group(1))
            if request.method == "POST" and found.group(2):
                self.comments.setdefault(number, []).append(payload["body"])
                comment = {"id": len(self.comments[number]), "body": payload["body"]}
                return 201, {}, comment
            if request.method == "PATCH" and not found.group(2):
                self.issues[number].update(
                    {key: payload[key] for key in ("state", "state_reason") if key in payload}
                )
                return 200, {}, self.issues[number]
            if request.method == "GET" and not found.group(2):
                return 200, {}, self.issues[number]
        return 404, {}, {"message": "Not Found"}

    def _list(self, request: RecordedRequest) -> Response:
        state = request.query.get("state", ["open"])[0]
        wanted = set(",".join(request.query.get("labels", [""])).split(",")) - {""}
        matching = [
            issue
            for issue in self.issues.values()
            if state in (issue["state"], "all")
            and wanted <= {label["name"] for label in issue["labels"]}
        ]
        per_page = min(int(request.query.get("per_page", ["30"])[0]), self.page_size)
        page = int(request.query.get("page", ["1"])[0])
        shown = matching[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(matching):
            path = request.route
            next_url = f"{self._server.url}{path}?state={state}&labels={','.join(sorted(wanted))}"
            next_url += f"&per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        return 200, headers, shown

    def _create(self, payload: dict[str, Any], state: str) -> dict[str, Any]:
        number = len(self.issues) + 1
        api = f"{self.base_url}/repos/{self.repo}/issues/{number}"
        self.issues[number] = {
            "id": 1000 + number,
            "number": number,
            "url": api,
            "comments_url": f"{api}/comments",
            "html_url": f"https://github.example/{self.repo}/issues/{number}",
            "title": payload["title"],
            "body": payload.get("body", ""),
            "state": state,
            "labels": [{"name": name} for name in payload.get("labels", [])],
        }
        return self.issues[number]

    def _repo_json(self) -> dict[str, Any]:
        owner, name = self.repo.split("/")
        return {
            "id": 1,
            "name": name,
            "full_name": self.repo,
            "owner": {"login": owner},
            "url": f"{self.base_url}/repos/{self.repo}",
            "html_url": f"https://github.example/{self.repo}",
        }


# --- Sentry -----------------------------------------------------------------------------------


@dataclass
class EnvelopeItem:
    headers: dict[str, Any]
    payload: bytes

    def json(self) -> Any:
        return json.loads(self.payload)


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[EnvelopeItem]]:
    """Split a Sentry envelope into its header and its items (length-prefixed or line-ended)."""
    header_line, _, rest = data.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_headers = json.loads(item_line)
        if "length" in item_headers:
            payload, rest = rest[: item_headers["length"]], rest[item_headers["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append(EnvelopeItem(item_headers, payload))
    return json.loads(header_line), items


class SentryDouble:
    """A Sentry ingest endpoint at `/api/<project>/envelope/`; answers come from a script like
    RecordingHTTPServer's (default 200 with an id)."""

    def __init__(self, responses: Iterable[Response] = (), *, delay_s: float = 0.0) -> None:
        self._server = RecordingHTTPServer(
            responses, default=(200, {}, {"id": "0" * 32}), delay_s=delay_s
        )

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._server.requests

    def dsn(self, project: int = 1) -> str:
        return f"http://publickey@127.0.0.1:{self._server.port}/{project}"

    def __enter__(self) -> "SentryDouble":
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.__exit__(*exc_info)

    def events(self) -> list[dict[str, Any]]:
        """Return the event payloads of every envelope received."""
        return [item.json() for item in self._items() if item.headers.get("type") == "event"]

    def _items(self) -> Iterator[EnvelopeItem]:
        for request in self.requests:
            yield from parse_envelope(request.content)[1]
