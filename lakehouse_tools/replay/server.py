"""The replay server: Reddit's OAuth API as praw calls it, served from a corpus on 127.0.0.1.

Endpoints (as real praw calls them):

- ``POST /api/v1/access_token``: client-credentials grant; any client id and secret work.
- ``GET /r/{sub}/new``: newest first, ``limit`` up to 100, ``after`` / ``before``, at most
  1,000 items deep (Reddit's listing cap).
- ``GET /api/info?id=t3_a,t3_b``: up to 100 fullnames a call.
- ``GET /comments/{id}``: the post and its comment tree (``limit``, ``depth``, ``sort``).

Every response carries ``X-Ratelimit-Used/-Remaining/-Reset``. With a rate limit of N,
requests past N in the current 60-second window get ``429`` with ``Retry-After``; without
one, the headers still count requests but ``remaining`` never runs out. Faults can be
injected at a rate (``inject_429``, ``inject_5xx``) from a seeded generator. A virtual
clock decides what exists: only objects created at or before ``now`` are visible.

Control endpoints, not counted as Reddit requests: ``POST /_clock {"now": EPOCH}``
(``null`` returns to real time), ``GET /_stats`` (request counts by path and by status),
``GET /_corpus`` (the subreddits the corpus lists).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lakehouse.domain.reddit import payload_text
from lakehouse_tools.replay.corpus import Corpus, JsonObject
from lakehouse_tools.replay.options import ReplayOptions

LISTING_CAP = 1000
PAGE_LIMIT = 100
INFO_LIMIT = 100
RATE_WINDOW_SECONDS = 60
# Without a configured limit the headers still count, but never run out.
UNLIMITED_REMAINING = 1_000_000
_TOKEN_PATH = "/api/v1/access_token"  # noqa: S105  # a URL path, not a secret


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ReplayState:
    """Everything the request handlers share: corpus, clock, limits, faults, counters."""

    def __init__(self, corpus: Corpus, options: ReplayOptions) -> None:
        self.corpus = corpus
        self.options = options
        self._now = options.now
        self._lock = threading.Lock()
        self._rng = random.Random(options.seed)
        self._window_start = time.monotonic()
        self._window_used = 0
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    # -- clock -----------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() if self._now is None else self._now

    def set_clock(self, now: float | None) -> None:
        with self._lock:
            self._now = now

    # -- accounting ------------------------------------------------------------------------
    def admit(self, path: str) -> tuple[_Reply | None, dict[str, str]]:
        """Count a Reddit request; return a refusal (429/5xx) or None, and the rate-limit headers."""
        with self._lock:
            self.requests[path] += 1
            clock = time.monotonic()
            if clock - self._window_start >= RATE_WINDOW_SECONDS:
                self._window_start, self._window_used = clock, 0
            reset = max(1, math.ceil(RATE_WINDOW_SECONDS - (clock - self._window_start)))
            limit = self.options.rate_limit
            if limit is not None and self._window_used >= limit:
                headers = _ratelimit_headers(self._window_used, 0, reset)
                headers["Retry-After"] = str(reset)
                return _Reply(HTTPStatus.TOO_MANY_REQUESTS, _error(429, "Too Many Requests"), headers), headers
            self._window_used += 1
            remaining = (limit - self._window_used) if limit is not None else UNLIMITED_REMAINING
            headers = _ratelimit_headers(self._window_used, remaining, reset)
            draw = self._rng.random()
            if draw < self.options.inject_429:
                refused = dict(headers, **{"Retry-After": str(self.options.retry_after_seconds)})
                return _Reply(HTTPStatus.TOO_MANY_REQUESTS, _error(429, "Too Many Requests"), refused), headers
            if draw < self.options.inject_429 + self.options.inject_5xx:
                status = self._rng.choice((500, 502, 503, 504))
                return _Reply(status, _error(status, HTTPStatus(status).phrase), headers), headers
            return None, headers

    def record_status(self, status: int) -> None:
        with self._lock:
            self.statuses[str(status)] += 1

    def stats(self) -> JsonObject:
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "statuses": dict(sorted(self.statuses.items())),
                "total": sum(self.requests.values()),
            }

    # -- endpoints -------------------------------------------------------------------------
    def listing_new(self, subreddit: str, params: dict[str, str]) -> _Reply:
        limit = _limit(params, default=25, maximum=PAGE_LIMIT)
        index = self.corpus.index(subreddit)
        if index is None:
            return _Reply(HTTPStatus.NOT_FOUND, _error(404, "Not Found"))
        now = self.now()
        visible = index.visible_count(now)
        reachable = min(visible, LISTING_CAP)

        def newest_first_position(fullname: str) -> int | None:
            position = index.position.get(fullname.removeprefix("t3_"))
            if position is None or position >= visible:
                return None
            return visible - 1 - position

        if after := params.get("after"):
            anchor = newest_first_position(after)
            start = reachable if anchor is None else anchor + 1
            stop = min(start + limit, reachable)
        elif before := params.get("before"):
            anchor = newest_first_position(before)
            stop = 0 if anchor is None else min(anchor, reachable)
            start = max(0, stop - limit)
        else:
            start, stop = 0, min(limit, reachable)
        start = min(start, stop)
        children = []
        for rank in range(start, stop):
            post = self.corpus.submission(index.ids[visible - 1 - rank], now)
            if post is not None:
                children.append({"kind": "t3", "data": post})
        after_token = f"t3_{index.ids[visible - stop]}" if 0 < stop < reachable else None
        before_token = f"t3_{index.ids[visible - 1 - start]}" if start > 0 and stop > start else None
        return _Reply(HTTPStatus.OK, _listing(children, after_token, before_token))

    def info(self, params: dict[str, str]) -> _Reply:
        fullnames = [name for name in params.get("id", "").split(",") if name]
        if len(fullnames) > INFO_LIMIT:
            return _Reply(HTTPStatus.BAD_REQUEST, _error(400, f"at most {INFO_LIMIT} ids a call"))
        now = self.now()
        children = []
        for fullname in fullnames:
            if not fullname.startswith("t3_"):
                continue
            post = self.corpus.submission(fullname[3:], now)
            if post is not None:
                children.append({"kind": "t3", "data": post})
        return _Reply(HTTPStatus.OK, _listing(children, None, None))

    def comments(self, post_id: str, params: dict[str, str]) -> _Reply:
        now = self.now()
        post = self.corpus.submission(post_id, now)
        if post is None:
            return _Reply(HTTPStatus.NOT_FOUND, _error(404, "Not Found"))
        limit = _limit(params, default=200, maximum=500)
        depth = _limit(params, default=10, maximum=10, name="depth")
        tree = _comment_tree(
            self.corpus.comments(post_id, now),
            f"t3_{post_id}",
            params.get("sort", "confidence"),
            limit,
            depth,
        )
        post_listing = _listing([{"kind": "t3", "data": post}], None, None)
        return _Reply(HTTPStatus.OK, [post_listing, _listing(tree, None, None)])


def _ratelimit_headers(used: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-Ratelimit-Used": str(used),
        "X-Ratelimit-Remaining": f"{float(remaining):.1f}",
        "X-Ratelimit-Reset": str(reset),
    }


def _error(status: int, message: str) -> JsonObject:
    return {"message": message, "error": status}


def _listing(children: list[JsonObject], after: str | None, before: str | None) -> JsonObject:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": before,
        },
    }


def _limit(params: dict[str, str], *, default: int, maximum: int, name: str = "limit") -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        value = default
    return max(1, min(value, maximum))


def _comment_tree(
    comments: list[JsonObject], post_fullname: str, sort: str, limit: int, depth: int
) -> list[JsonObject]:
    """Nest flat comments by ``parent_id``; keep ``limit`` of them, ``depth`` levels deep, in ``sort`` order."""
    children_of: dict[str, list[JsonObject]] = {}
    for comment in comments:
        parent = comment.get("parent_id")
        children_of.setdefault(parent if isinstance(parent, str) else post_fullname, []).append(comment)

    def order(siblings: list[JsonObject]) -> list[JsonObject]:
        if sort in ("new", "old"):
            return sorted(siblings, key=lambda c: _number(c.get("created_utc")), reverse=sort == "new")
        return sorted(siblings, key=lambda c: _number(c.get("score")), reverse=True)

    budget = [limit]

    def build(parent: str, level: int) -> list[JsonObject]:
        built = []
        for comment in order(children_of.get(parent, [])):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            node = dict(comment)  # never mutate the corpus's object
            replies = build(f"t1_{comment.get('id')}", level + 1) if level + 1 < depth else []
            node["replies"] = _listing(replies, None, None) if replies else ""
            built.append({"kind": "t1", "data": node})
        return built

    return build(post_fullname, 0)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return -math.inf


class _Handler(BaseHTTPRequestHandler):
    server: _ReplayHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait 40 ms between

    def log_message(self, format: str, *args: Any) -> None:  # signature fixed by http.server
        """Quiet: the stats endpoint is the record of what was asked."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path).rstrip("/").removesuffix(".json") or "/"
        params = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._read_body()
        reply = self._control(method, path, body)
        if reply is None:
            reply = self._reddit(self.server.state, method, path, params)
        self._send(reply)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _control(self, method: str, path: str, body: bytes) -> _Reply | None:
        state = self.server.state
        if path == "/_stats" and method == "GET":
            return _Reply(HTTPStatus.OK, state.stats())
        if path == "/_corpus" and method == "GET":
            return _Reply(HTTPStatus.OK, {"subreddits": state.corpus.subreddits()})
        if path == "/_clock" and method == "POST":
            try:
                now = json.loads(body or b"{}").get("now")
                state.set_clock(None if now is None else float(now))
            except (ValueError, AttributeError, TypeError):
                return _Reply(HTTPStatus.BAD_REQUEST, _error(400, 'expected {"now": EPOCH}'))
            return _Reply(HTTPStatus.OK, {"now": state.now()})
        return None

    def _reddit(self, state: ReplayState, method: str, path: str, params: dict[str, str]) -> _Reply:
        if path == _TOKEN_PATH and method == "POST":
            if state.options.reject_credentials:  # what Reddit answers a wrong client id or secret
                return _Reply(HTTPStatus.UNAUTHORIZED, _error(401, "Unauthorized"))
            return _Reply(
                HTTPStatus.OK,
                {"access_token": "replay-token", "token_type": "bearer", "expires_in": 86400, "scope": "*"},
            )
        if state.options.expired_tokens > 0:  # as Reddit answers a request whose token has expired
            state.options.expired_tokens -= 1
            expired = {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}
            return _Reply(HTTPStatus.UNAUTHORIZED, _error(401, "Unauthorized"), expired)
        refusal, headers = state.admit(path)
        if refusal is not None:
            state.record_status(refusal.status)
            return refusal
        reply = self._route(state, method, path, params)
        reply.headers.update(headers)
        state.record_status(reply.status)
        return reply

    @staticmethod
    def _route(state: ReplayState, method: str, path: str, params: dict[str, str]) -> _Reply:
        parts = path.strip("/").split("/")
        if method != "GET":
            return _Reply(HTTPStatus.METHOD_NOT_ALLOWED, _error(405, "Method Not Allowed"))
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "new":
            if parts[1].lower() in state.options.private_subreddits:  # a private subreddit's listing
                return _Reply(HTTPStatus.FORBIDDEN, {"reason": "private", "message": "Forbidden", "error": 403})
            return state.listing_new(parts[1], params)
        if path == "/api/info":
            return state.info(params)
        if len(parts) >= 2 and parts[0] == "comments":
            return state.comments(parts[1], params)
        return _Reply(HTTPStatus.NOT_FOUND, _error(404, "Not Found"))

    def _send(self, reply: _Reply) -> None:
        payload = payload_text(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            # Say so, or the client pools the connection and its next request meets a closed socket.
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


class _ReplayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ReplayState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class ReplayServer:
    """The replay server on a background thread; ``port=0`` picks a free port."""

    def __init__(
        self, corpus: Corpus, options: ReplayOptions | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = ReplayState(corpus, options or ReplayOptions())
        self._httpd = _ReplayHTTPServer((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="reddit-replay", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def set_clock(self, now: float | None) -> None:
        self.state.set_clock(now)

    def stats(self) -> JsonObject:
        return self.state.stats()


@contextmanager
def running(corpus: Corpus, options: ReplayOptions | None = None) -> Iterator[ReplayServer]:
    """A replay server for the duration of a ``with`` block (tests, the local run)."""
    server = ReplayServer(corpus, options).start()
    try:
        yield server
    finally:
        server.stop()
