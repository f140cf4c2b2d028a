"""Interim trigger: EventBridge rules that invoke the ingest function once per subreddit on the schedule.

The Step Functions state machine (a later issue) replaces this construct: one rule then starts
one execution with every subreddit, and the state machine's Map invokes the function. Until
then, each rule delivers ``{"run_id", "subreddit", "run_started_at"}`` (the event the handler
parses) to the function asynchronously, so the function's retries and dead-letter queue apply.

A rule takes at most five targets, so subreddits are spread over as many rules as needed.
Each rule fires as its own event: subreddits on different rules get different run ids (the
event ids). That is harmless for ingestion, which is per subreddit, and goes away with the
state machine, which names one run id for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

__all__ = ["MAX_TARGETS_PER_RULE", "IngestSchedule"]

MAX_TARGETS_PER_RULE = 5
"""EventBridge's quota of targets per rule (not adjustable)."""


class IngestSchedule(Construct):
    """One target per subreddit, at most five per rule, every rule on the environment's schedule."""

    rules: tuple[events.Rule, ...]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        schedule: str,
        subreddits: Sequence[str],
        function: lambda_.IFunction,
    ) -> None:
        """``schedule`` is an EventBridge expression, ``rate(...)`` or ``cron(...)``, from the config."""
        super().__init__(scope, construct_id)
        if not subreddits:
            raise ValueError("schedule at least one subreddit")
        batches = [
            subreddits[start : start + MAX_TARGETS_PER_RULE]
            for start in range(0, len(subreddits), MAX_TARGETS_PER_RULE)
        ]
        rules = []
        for number, batch in enumerate(batches, start=1):
            rule = events.Rule(
                self,
                f"Rule{number}",
                rule_name=f"{resource_prefix}-ingest-{number}",
                description=(f"Ingests r/{', r/'.join(batch)} on {schedule} (interim; the state machine replaces it).")[
                    :512
                ],
                schedule=events.Schedule.expression(schedule),
            )
            for subreddit in batch:
                rule.add_target(targets.LambdaFunction(function, event=ingest_event(subreddit)))
            rules.append(rule)
        self.rules = tuple(rules)


def ingest_event(subreddit: str) -> events.RuleTargetInput:
    """The handler's event for ``subreddit``: the scheduled event's id names the run, its time starts it."""
    return events.RuleTargetInput.from_object(
        {
            "run_id": events.EventField.from_path("$.id"),
            "subreddit": subreddit,
            "run_started_at": events.EventField.from_path("$.time"),
        }
    )
