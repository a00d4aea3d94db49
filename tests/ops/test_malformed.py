"""10,000 malformed requests over real HTTP: zero 5xx, and every JSON answer in the envelope.

Every ingest endpoint (native and OTLP) and a few read endpoints receive, through raw sockets to
a real gunicorn: bad JSON, deep nesting, NaN and Infinity, giant numbers, bad UTF-8, lone
surrogates and NUL characters, wrong shapes and types, bodies over the limit, missing, wrong or
duplicated Content-Length, chunked bodies, wrong content types and encodings, gzip bombs and bad
gzip, truncated and corrupted protobuf, bad credentials and bad query strings. The cases are
seeded: a failure names the case, which is the same on every run.
"""

import socket
import threading
from collections import Counter
from dataclasses import dataclass

import orjson
import pytest

from tests.ops.malformed import Case, malformed_cases

pytestmark = [pytest.mark.ops, pytest.mark.django_db(transaction=True)]

REQUESTS = 10_000
CLIENT_THREADS = 6
SOCKET_TIMEOUT_S = 20


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


# --- sending --------------------------------------------------------------------------------


def send(port: int, case: Case) -> Answer | None:
    """Send one raw request; return the answer, or None when the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        try:
            sock.sendall(case.raw)
            if case.half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered early (413) and closed before reading it all
            pass
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return _parse(b"".join(chunks))


def _parse(raw: bytes) -> Answer | None:
    if not raw:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Answer(int(lines[0].split()[1]), headers.get("content-type", ""), body)


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if not size:
            break
        out += body[:size]
        body = body[size + 2 :]
    return bytes(out)


def problem(case: Case, answer: Answer | None) -> str | None:
    """What is wrong with the answer to a malformed request (None: nothing)."""
    if answer is None:
        return None if case.half_close or case.kind.startswith("content-length") else "no answer"
    if answer.status >= 500:
        return f"{answer.status}: {answer.body[:300]!r}"
    if not answer.content_type.startswith("application/json"):
        return None
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return f"{answer.status} with a body that is not JSON: {answer.body[:200]!r}"
    if answer.status < 400 or _is_batch_answer(document):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and "message" in error):
        return f"{answer.status} outside the error envelope: {answer.body[:200]!r}"
    return None


def _is_batch_answer(document) -> bool:
    return isinstance(document, dict) and {"accepted", "rejected", "errors"} <= set(document)


def test_ten_thousand_malformed_requests_get_no_5xx_and_json_errors_in_the_envelope(
    start_web, make_key
):
    web = start_web("web", workers=2)
    keys = {"ingest": make_key("ingest"), "read": make_key("read")}
    cases = malformed_cases(keys, REQUESTS)
    problems: list[tuple[str, str, bytes]] = []
    statuses: Counter = Counter()
    queue = iter(enumerate(cases))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                index, case = next(queue, (None, None))
            if case is None:
                return
            answer = send(web.port, case)
            found = problem(case, answer)
            with lock:
                statuses[answer.status if answer else None] += 1
                if found:
                    problems.append((f"#{index} {case.kind}", found, case.raw[:300]))

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert sum(statuses.values()) == REQUESTS, statuses
    assert problems == [], (len(problems), Counter(p[0].split()[1] for p in problems), problems[:5])
    # Each guard was reached: bad input, credentials, scope, size and type. (No 411: gunicorn
    # ends a chunked body, which is then read.)
    assert {400, 401, 403, 413, 415} <= set(statuses), statuses
