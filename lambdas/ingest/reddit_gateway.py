"""Reddit access for ingestion: praw for OAuth and header pacing, our policy for everything else.

- Every HTTP exchange with Reddit is counted by path (retries and token fetches included),
  because that is what Reddit's rate limit counts.
- A per-invocation budget caps the requests; a pacer spaces them to a share of the client's
  100 requests a minute, so the concurrent subreddits of one run stay under it together.
- 429: wait ``Retry-After`` (or the backoff, whichever is longer) and retry; 5xx and
  connection errors: back off and retry. prawcore's own 5xx retry is turned off so there is
  one retry policy, ours, and every attempt is visible in the counts.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import praw
import prawcore
import requests
from prawcore.sessions import FiniteRetryStrategy

from lakehouse.domain.reddit import read_json
from lambdas.ingest.settings import RetryPolicy


class BudgetExhausted(Exception):
    """The invocation's request budget is spent; the caller stops the work that needed more."""


class RedditUnavailable(Exception):
    """Reddit kept failing past the retry policy (429s, 5xx, connection errors)."""

    def __init__(self, path: str, cause: Exception) -> None:
        super().__init__(f"GET {path} failed: {type(cause).__name__}: {cause}")
        self.path = path
        self.cause = cause


class RedditRefused(Exception):
    """Reddit refused the client (bad credentials, a blocked user agent) or the request: the invocation fails."""

    def __init__(self, path: str, status: int | None, cause: Exception) -> None:
        super().__init__(f"Reddit refused GET {path}: {_refusal(path, status, cause)}")
        self.path = path
        self.status = status


class SubredditUnavailable(Exception):
    """Reddit will not list this subreddit (private, banned, quarantined or missing): skip it, go on."""

    def __init__(self, path: str, status: int | None, cause: Exception) -> None:
        what = {403: "private or quarantined", 404: "banned or missing", 451: "unavailable for legal reasons"}
        reason = "redirected: no such subreddit" if status in (301, 302) else what.get(status or 0, "not listable")
        super().__init__(f"{path}: HTTP {status} ({reason})")
        self.path = path
        self.status = status


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _refusal(path: str, status: int | None, cause: Exception) -> str:
    """The status and the likely cause, in words an operator acts on."""
    url = getattr(getattr(cause, "response", None), "url", "") or ""
    if isinstance(cause, prawcore.exceptions.OAuthException) or _TOKEN_PATH in url:
        return (
            f"HTTP {status or 'error'} from the token endpoint ({cause}): the client id or secret is wrong, "
            "or Reddit blocks the user agent; check the Reddit secret (client_id, client_secret, user_agent)"
        )
    if status == 401:
        return "HTTP 401: the OAuth token was refused; check the app's credentials and type (script/web)"
    if status == 403:
        return (
            "HTTP 403: forbidden; Reddit blocks this app or user agent (use '<platform>:<app id>:<version> (by /u/x)')"
        )
    return f"HTTP {status}: {type(cause).__name__}: {cause}"


_TOKEN_PATH = "/api/v1/access_token"  # noqa: S105  # a URL path, not a secret
_LISTING_UNAVAILABLE = (301, 302, 403, 404, 451)


@dataclass(frozen=True)
class _NoRetry(FiniteRetryStrategy):
    """prawcore retry strategy that never retries: RedditGateway owns the retry policy."""

    retries: int = 0

    def _sleep_seconds(self) -> float | None:
        return None  # prawcore sleeps before a retry; with no retries there is nothing to wait for


class Pacer:
    """Spaces requests ``60 / requests_per_minute`` seconds apart, across every thread that shares it.

    A Lambda container runs one invocation at a time, so there the process's pacer paces one
    invocation to its share of the client's budget; the local run invokes several subreddits at
    once in one process, and one pacer keeps them under the whole budget together.
    """

    def __init__(self, requests_per_minute: float) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests per minute must be positive, got {requests_per_minute}")
        self.interval = 60.0 / requests_per_minute
        self._next_at = -math.inf
        self._lock = threading.Lock()

    def wait(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> float:
        """Take the next free slot and sleep until it; return the seconds slept."""
        with self._lock:
            now = clock()
            slot = max(now, self._next_at)
            self._next_at = slot + self.interval
        wait = slot - now
        if wait > 0:
            sleep(wait)
        return wait


_pacers: dict[float, Pacer] = {}
_pacers_lock = threading.Lock()


def process_pacer(requests_per_minute: float | None) -> Pacer | None:
    """This process's pacer for a rate (None: unpaced), shared by all its threads."""
    if not requests_per_minute:
        return None
    with _pacers_lock:
        return _pacers.setdefault(requests_per_minute, Pacer(requests_per_minute))


@dataclass
class RequestBudget:
    """At most ``max_requests`` this invocation, each in its turn of ``pacer`` (None: unpaced)."""

    max_requests: int
    pacer: Pacer | None = None
    used: int = 0

    def take(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> float:
        """Spend one request; return the seconds slept for pacing."""
        if self.used >= self.max_requests:
            raise BudgetExhausted(f"request budget of {self.max_requests} spent")
        self.used += 1
        return self.pacer.wait(clock, sleep) if self.pacer else 0.0

    @property
    def remaining(self) -> int:
        return self.max_requests - self.used


@dataclass
class RequestLog:
    """What was asked of Reddit: counts by path, rate-limit waits, retries."""

    by_path: Counter[str] = field(default_factory=Counter)
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    retries: int = 0
    pacing_seconds: float = 0.0

    def record_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.by_path[request_path(response.url)] += 1


def request_path(url: str) -> str:
    """A request's path as counted: unquoted, without trailing slash or ``.json``."""
    return unquote(urlsplit(url).path).rstrip("/").removesuffix(".json") or "/"


@dataclass(frozen=True, slots=True)
class RedditCredentials:
    client_id: str
    client_secret: str
    user_agent: str


@dataclass
class RedditConnection:
    """A praw client and the HTTP session under it, whose every response is counted into one log."""

    reddit: praw.Reddit
    session: requests.Session

    def track(self, log: RequestLog) -> None:
        """Count this connection's responses into ``log`` from now on (one log per invocation)."""
        self.session.hooks["response"] = [log.record_response]


class _RedditResponse(requests.Response):
    """A response whose ``json()`` (what prawcore calls) reads with ``read_json``: ~2.5 ms less a page.

    Its body is read in chunks of up to 1 MiB, not requests' 10 KB (~30 reads for a listing page of
    ~280 KB; ~0.2 ms of CPU less a request), through ``iter_content`` and its error handling.
    """

    @property
    def content(self) -> Any:
        if self._content is False and not self._content_consumed and self.raw is not None and self.status_code:
            self._content = b"".join(self.iter_content(_BODY_CHUNK_BYTES))
        return super().content

    def json(self, **kwargs: Any) -> Any:
        return read_json(self.content)


_BODY_CHUNK_BYTES = 1 << 20


class _RedditAdapter(requests.adapters.HTTPAdapter):
    """requests' transport adapter, building ``_RedditResponse`` objects (its documented extension point)."""

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.__class__ = _RedditResponse
        return response


def _session(base_url: str | None) -> requests.Session:
    """An HTTP session for Reddit: responses read with ``read_json``, the environment read once.

    requests re-reads proxy and CA-bundle settings from the environment on every request
    (``trust_env``, ~0.5 ms each); they are read here instead, for the Reddit host, and kept.
    """
    session = requests.Session()
    adapter = _RedditAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(base_url or "https://oauth.reddit.com"))
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    return session


def connect(credentials: RedditCredentials, *, base_url: str | None = None) -> RedditConnection:
    """praw with app-only OAuth; ``base_url`` points it at a Reddit-compatible server (the replay server)."""
    session = _session(base_url)
    urls: dict[str, Any] = {"oauth_url": base_url, "reddit_url": base_url} if base_url else {}
    reddit = praw.Reddit(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        user_agent=credentials.user_agent,
        check_for_updates=False,
        check_for_async=False,
        requestor_kwargs={"session": session},
        **urls,
    )
    core = reddit._core  # prawcore exposes no public switch for its retry strategy
    if core is not None and hasattr(core, "_retry_strategy_class"):
        core._retry_strategy_class = _NoRetry
    return RedditConnection(reddit, session)


class RedditGateway:
    """GET requests to Reddit within a budget, with rate-limit and fault handling."""

    def __init__(
        self,
        reddit: praw.Reddit,
        *,
        budget: RequestBudget,
        log: RequestLog,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.reddit = reddit
        self.budget = budget
        self.log = log
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random(seed)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = {"raw_json": 1, **(params or {})}
        token_renewed = False
        for attempt in range(1, self.retry.max_attempts + 1):
            self.log.pacing_seconds += self.budget.take(self._clock, self._sleep)
            try:
                return self.reddit.request(method="GET", path=path, params=query)
            except prawcore.exceptions.TooManyRequests as exc:
                failure: Exception = exc
                wait = max(_retry_after(exc), self.retry.backoff(attempt, self._rng))
                self.log.rate_limit_waits += 1
                self.log.rate_limit_wait_seconds += wait
            except (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException) as exc:
                failure, wait = exc, self.retry.backoff(attempt, self._rng)
            except prawcore.exceptions.OAuthException as exc:
                raise RedditRefused(path, None, exc) from exc
            except prawcore.exceptions.ResponseException as exc:
                status, at_token_endpoint = _status(exc), _TOKEN_PATH in (exc.response.url or "")
                if status is not None and status >= 500:
                    failure, wait = exc, self.retry.backoff(attempt, self._rng)
                elif status == 429:  # the token endpoint's rate limit (the API's is TooManyRequests above)
                    failure, wait = exc, max(_retry_after(exc), self.retry.backoff(attempt, self._rng))
                    self.log.rate_limit_waits += 1
                    self.log.rate_limit_wait_seconds += wait
                elif status == 401 and not at_token_endpoint and not token_renewed:
                    # An expired or revoked app token: prawcore has dropped it and fetches a new one
                    # with the next request. Once; a second 401 means the credentials are refused.
                    failure, wait, token_renewed = exc, 0.0, True
                elif _is_listing(path) and status in _LISTING_UNAVAILABLE and not at_token_endpoint:
                    raise SubredditUnavailable(path, status, exc) from exc
                else:
                    raise RedditRefused(path, status, exc) from exc
            if attempt == self.retry.max_attempts:
                raise RedditUnavailable(path, failure) from failure
            self.log.retries += 1
            self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")


def _is_listing(path: str) -> bool:
    return path.startswith("/r/") and path.endswith("/new")


def _retry_after(exc: prawcore.exceptions.ResponseException) -> float:
    try:
        return float(exc.response.headers.get("Retry-After", 0))
    except (TypeError, ValueError):
        return 0.0
