"""The gateway's retry and budget policy, against a replay server with injected faults."""

from __future__ import annotations

import threading

import pytest

from lakehouse_tools.replay.server import ReplayServer
from lakehouse_tools.replay.synthetic import SyntheticCorpus
from lambdas.ingest.reddit_gateway import (
    BudgetExhausted,
    Pacer,
    RedditCredentials,
    RedditGateway,
    RedditRefused,
    RedditUnavailable,
    RequestBudget,
    RequestLog,
    SubredditUnavailable,
    connect,
)
from lambdas.ingest.settings import RetryPolicy


@pytest.fixture
def server() -> ReplayServer:
    server = ReplayServer(SyntheticCorpus(seed=1, subreddits=["python"], days=2)).start()
    yield server  # type: ignore[misc]
    server.stop()


def _gateway(server: ReplayServer, budget: RequestBudget, sleeps: list[float]) -> RedditGateway:
    connection = connect(RedditCredentials("id", "secret", "tests"), base_url=server.url)
    log = RequestLog()
    connection.track(log)
    return RedditGateway(
        connection.reddit,
        budget=budget,
        log=log,
        retry=RetryPolicy(max_attempts=4, base_seconds=0.01),
        sleep=sleeps.append,
        seed=1,
    )


def test_429_waits_retry_after_then_succeeds(server: ReplayServer) -> None:
    server.state.options.inject_429 = 1.0
    server.state.options.retry_after_seconds = 7
    sleeps: list[float] = []
    gateway = _gateway(server, RequestBudget(10), sleeps)

    with pytest.raises(RedditUnavailable, match="TooManyRequests"):
        gateway.get("/r/python/new", {"limit": 5})

    assert sleeps == [7.0, 7.0, 7.0]
    assert gateway.log.rate_limit_waits == 4
    assert gateway.log.by_path["/r/python/new"] == 4  # every attempt is a request Reddit counts


def test_5xx_is_retried_with_backoff_and_counted(server: ReplayServer) -> None:
    server.state.options.inject_5xx = 0.5
    server.state.options.seed = 3
    sleeps: list[float] = []
    gateway = _gateway(server, RequestBudget(100), sleeps)

    for _ in range(10):
        assert gateway.get("/r/python/new", {"limit": 1})["kind"] == "Listing"

    assert gateway.log.retries == len(sleeps) > 0
    assert all(0 <= s <= 0.08 for s in sleeps)
    assert gateway.log.by_path["/r/python/new"] == 10 + gateway.log.retries


def test_budget_caps_requests_and_paces_them() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    budget = RequestBudget(max_requests=3, pacer=Pacer(requests_per_minute=30))
    for _ in range(3):
        budget.take(lambda: clock[0], sleep)
    with pytest.raises(BudgetExhausted):
        budget.take(lambda: clock[0], sleep)
    assert sleeps == [2.0, 2.0]  # 30 a minute: one every two seconds


def test_one_pacer_spaces_the_requests_of_every_thread_that_shares_it() -> None:
    pacer = Pacer(requests_per_minute=60)  # one a second
    waits: list[float] = []

    def take_five() -> None:
        for _ in range(5):
            pacer.wait(lambda: 100.0, waits.append)  # a frozen clock: every wait is the slot's distance

    threads = [threading.Thread(target=take_five) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == [float(n) for n in range(1, 15)]  # 15 distinct slots, the first at once


def test_a_missing_subreddit_is_unavailable_at_once_not_retried(server: ReplayServer) -> None:
    sleeps: list[float] = []
    gateway = _gateway(server, RequestBudget(10), sleeps)
    with pytest.raises(SubredditUnavailable, match=r"/r/doesnotexist/new: HTTP 404 \(banned or missing\)"):
        gateway.get("/r/doesnotexist/new")
    assert sleeps == []


def test_a_private_subreddit_is_unavailable(server: ReplayServer) -> None:
    server.state.options.private_subreddits = frozenset({"python"})
    gateway = _gateway(server, RequestBudget(10), [])
    with pytest.raises(SubredditUnavailable, match=r"HTTP 403 \(private or quarantined\)"):
        gateway.get("/r/python/new")


def test_rejected_credentials_fail_loudly_naming_the_status_and_the_likely_cause(server: ReplayServer) -> None:
    server.state.options.reject_credentials = True
    gateway = _gateway(server, RequestBudget(10), [])
    with pytest.raises(RedditRefused, match=r"HTTP 401 from the token endpoint.*client id or secret.*user agent"):
        gateway.get("/r/python/new")


def test_another_4xx_on_the_api_fails_loudly(server: ReplayServer) -> None:
    gateway = _gateway(server, RequestBudget(10), [])
    with pytest.raises(RedditRefused, match="HTTP 404"):
        gateway.get("/comments/zzzzzz")


def test_an_expired_token_is_renewed_once_then_refused(server: ReplayServer) -> None:
    server.state.options.expired_tokens = 1
    gateway = _gateway(server, RequestBudget(10), [])

    assert gateway.get("/r/python/new", {"limit": 1})["kind"] == "Listing"
    assert gateway.log.retries == 1
    assert gateway.log.by_path["/api/v1/access_token"] == 2  # prawcore fetched a new token

    server.state.options.expired_tokens = 2
    with pytest.raises(RedditRefused, match="HTTP 401: the OAuth token was refused"):
        gateway.get("/r/python/new", {"limit": 1})
