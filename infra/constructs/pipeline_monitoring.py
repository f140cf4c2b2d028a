"""One environment's orchestration-level alarms and its pipeline dashboard.

The per-stage alarms live with their stages (the ingest function's errors, throttles, dead letters and
skipped subreddits; the processing job's failure rule and quality gate); this construct watches the run
as a whole: the state machine's outcomes, the score and verify steps, the scoring budget, the schedule's
dead letters, Reddit's listing cap and cross-stage reconciliation. Those stage alarms arrive as
``existing_alarms`` so the dashboard shows every alarm of the environment in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.processing_job import GLUE_METRICS_NAMESPACE
from lakehouse import metrics

__all__ = ["BUDGET_EXHAUSTED_HOURS", "MAX_SUCCESS_WINDOW_HOURS", "PipelineMonitoring"]

_ALARM_PERIOD = cdk.Duration.minutes(5)
# Runs are hours apart: hourly datapoints read better than 5-minute ones that are mostly empty.
_HOURLY = cdk.Duration.hours(1)
# CloudWatch limits an alarm with a 1-hour period to 7 days of evaluation (period x evaluation periods).
MAX_SUCCESS_WINDOW_HOURS = 7 * 24
# Glue's own job metric (--enable-metrics): milliseconds of ETL per run, summed over the job's runs.
_GLUE_ELAPSED_TIME = "glue.driver.aggregate.elapsedTime"
_GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
# Hours in a row of runs stopped by the LLM budget before the backlog counts as not draining.
BUDGET_EXHAUSTED_HOURS = 3


class PipelineMonitoring(Construct):
    """Pages the operator when a run fails, stalls or loses data, and draws the pipeline on one dashboard."""

    alarms: dict[str, cloudwatch.Alarm]
    dashboard: cloudwatch.Dashboard

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_prefix: str,
        environment: str,
        alarm_topic: sns.ITopic,
        state_machine: sfn.IStateMachine,
        ingest_function: lambda_.IFunction,
        score_function: lambda_.IFunction,
        verify_function: lambda_.IFunction,
        processing_job_name: str,
        scheduler_dead_letter_queue: sqs.IQueue,
        success_window_hours: int,
        schedule_enabled: bool,
        existing_alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        """``success_window_hours``: a run must succeed at least this often (longer than the schedule's rate).

        ``schedule_enabled``: with the schedule off no run is expected, so the no-success alarm is
        created (and visible) but does not notify.
        """
        super().__init__(scope, construct_id)
        if not 1 <= success_window_hours <= MAX_SUCCESS_WINDOW_HOURS:
            raise ValueError(
                f"success_window_hours must be 1..{MAX_SUCCESS_WINDOW_HOURS} (CloudWatch's limit), "
                f"got {success_window_hours}"
            )
        self._resource_prefix = resource_prefix
        self._environment = environment
        self._topic = alarm_topic
        self.alarms = {}

        self._alarm(
            "executions_failed",
            state_machine.metric_failed(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "A pipeline run failed. Open the failed execution in the Step Functions console: the failed state "
            "names the stage, and its cause holds the stage's error (a failed verify step means the stages "
            "did not reconcile).",
        )
        self._alarm(
            "executions_timed_out",
            state_machine.metric_timed_out(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "A pipeline run exceeded the state machine's timeout. The execution's event history shows which state "
            "was still running; compare its duration with the dashboard's execution time.",
        )
        self._alarm(
            "executions_aborted",
            state_machine.metric_aborted(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "A pipeline run was stopped before it finished. Check CloudTrail's StopExecution for who stopped it; "
            "rerun it from the console if the stop was not intended.",
        )
        no_success = (
            f"No pipeline run succeeded in the last {success_window_hours} hours (no data counts too: a schedule "
            "that stopped firing alarms as well). Check the state machine's recent executions, then the "
            "schedule and its dead-letter queue."
        )
        self._alarm(
            "no_recent_success",
            state_machine.metric_succeeded(period=_HOURLY, statistic=cloudwatch.Stats.SUM),
            no_success
            if schedule_enabled
            else f"{no_success} Actions disabled: the schedule is switched off in this environment, so no run is "
            "expected; they come on when the schedule does.",
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=success_window_hours,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            actions_enabled=schedule_enabled,
        )
        self._alarm(
            "score_errors",
            score_function.metric_errors(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "A score invocation failed: its log group has the traceback. ScoringDegraded means most of the run's "
            "assessments failed validation or were throttled (see the cost ledger's failure_reason); AccessDenied "
            "or an unknown model means the model is not enabled or granted in this account and region. Rerun with "
            "the same run id once fixed: what was scored is not paid again.",
        )
        self._alarm(
            "score_budget_reached",
            self._score_metric(metrics.ScoreMetric.BUDGET_EXHAUSTED, cloudwatch.Stats.MAXIMUM),
            f"Scoring runs stopped at the LLM budget (llm.budget_usd_per_run) every hour for the last "
            f"{BUDGET_EXHAUSTED_HOURS} hours: the backlog of unscored problem posts is not draining within budget "
            "(see the dashboard's posts waiting). Raise llm.budget_usd_per_run in cdk.json, enable llm.batch "
            "(half the price, for backlogs), or accept the backlog: it is scored as later runs have budget left.",
            evaluation_periods=BUDGET_EXHAUSTED_HOURS,
        )
        self._alarm(
            "verify_errors",
            verify_function.metric_errors(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "A verify invocation failed: its log group has the traceback. If reconciliation-failures alarmed too, "
            "the stages do not reconcile; otherwise verify itself broke.",
        )
        self._alarm(
            "verify_throttles",
            verify_function.metric_throttles(period=_ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "Verify invocations were throttled (account concurrency exhausted?); the run's verify step retries.",
        )
        self._alarm(
            "schedule_dead_letters",
            scheduler_dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=_ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            "The schedule could not start a pipeline run (its target failed every retry): the event waits in "
            "the scheduler's dead-letter queue. Check the schedule role's permission to start the state machine.",
        )
        self._alarm(
            "reddit_cap_hits",
            self._ingest_metric(metrics.IngestMetric.CAP_HITS, cloudwatch.Stats.SUM),
            "A subreddit had more than 1,000 new posts since the last run: Reddit lists no further back, so posts "
            "were missed. Schedule runs more often (or split the subreddit's fetch).",
        )
        self._alarm(
            "reconciliation_failures",
            self._run_metric(metrics.RunMetric.RECONCILIATION_FAILURES, cloudwatch.Stats.MAXIMUM, _ALARM_PERIOD),
            "A run's stages do not reconcile: what one stage wrote is not what the next read, plus what it set "
            "aside. The verify step's output in the failed execution shows each check and its counts.",
        )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{resource_prefix}-pipeline",
            widgets=self._widgets(
                state_machine=state_machine,
                functions={"ingest": ingest_function, "score": score_function, "verify": verify_function},
                processing_job_name=processing_job_name,
                all_alarms=[*self.alarms.values(), *existing_alarms],
            ),
        )

    def _alarm(
        self,
        key: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 1,
        comparison_operator: cloudwatch.ComparisonOperator = _GTE,
        evaluation_periods: int = 1,
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        actions_enabled: bool = True,
    ) -> None:
        """Named ``{prefix}-{key}``; every datapoint of the window must breach (no M-of-N flapping).

        No data is not breaching by default: no run in the period means nothing went wrong.
        """
        alarm = cloudwatch.Alarm(
            self,
            "".join(part.title() for part in key.split("_")) + "Alarm",
            alarm_name=f"{self._resource_prefix}-{key.replace('_', '-')}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison_operator,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=treat_missing_data,
            actions_enabled=actions_enabled,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._topic))
        self.alarms[key] = alarm

    def _ingest_metric(
        self, name: metrics.IngestMetric, statistic: str, period: cdk.Duration = _HOURLY
    ) -> cloudwatch.Metric:
        """As the ingest handler publishes it (Powertools EMF), summed over the environment's subreddits."""
        return self._metric(name, metrics.INGEST_SERVICE, statistic, period)

    def _run_metric(self, name: metrics.RunMetric, statistic: str, period: cdk.Duration = _HOURLY) -> cloudwatch.Metric:
        """As the verify step publishes it, once per run (Powertools EMF)."""
        return self._metric(name, metrics.VERIFY_SERVICE, statistic, period)

    def _score_metric(
        self, name: metrics.ScoreMetric, statistic: str, period: cdk.Duration = _HOURLY
    ) -> cloudwatch.Metric:
        """As the score function publishes it, once per invocation (Powertools EMF)."""
        return self._metric(name, metrics.SCORE_SERVICE, statistic, period)

    def _metric(self, name: str, service: str, statistic: str, period: cdk.Duration) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=metrics.NAMESPACE,
            metric_name=name,
            dimensions_map={"service": service, metrics.ENVIRONMENT_DIMENSION: self._environment},
            statistic=statistic,
            period=period,
        )

    def _widgets(
        self,
        *,
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
        processing_job_name: str,
        all_alarms: Sequence[cloudwatch.IAlarm],
    ) -> list[list[cloudwatch.IWidget]]:
        """Rows top to bottom: is it healthy, how much moved, what Reddit saw, what scoring did, what it cost,
        how long it took."""
        sum_, max_ = cloudwatch.Stats.SUM, cloudwatch.Stats.MAXIMUM
        run, ingest, score = self._run_metric, self._ingest_metric, self._score_metric
        glue_elapsed = cloudwatch.Metric(
            namespace=GLUE_METRICS_NAMESPACE,
            metric_name=_GLUE_ELAPSED_TIME,
            dimensions_map={"JobName": processing_job_name, "JobRunId": "ALL", "Type": "count"},
            statistic=sum_,
            period=_HOURLY,
            label="Glue ETL time (ms)",
        )
        return [
            [
                _graph(
                    "Executions",
                    [
                        state_machine.metric_succeeded(period=_HOURLY, statistic=sum_, label="succeeded"),
                        state_machine.metric_failed(period=_HOURLY, statistic=sum_, label="failed"),
                        state_machine.metric_timed_out(period=_HOURLY, statistic=sum_, label="timed out"),
                    ],
                ),
                cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(all_alarms), width=8, height=6),
                _graph("Freshness (seconds behind Reddit)", [run(metrics.RunMetric.FRESHNESS, max_)]),
            ],
            [
                _graph(
                    "Rows per stage",
                    [
                        run(metrics.RunMetric.POSTS_INGESTED, sum_),
                        run(metrics.RunMetric.COMMENTS_INGESTED, sum_),
                        run(metrics.RunMetric.POSTS_PROCESSED, sum_),
                        run(metrics.RunMetric.COMMENTS_PROCESSED, sum_),
                    ],
                    width=12,
                ),
                _graph(
                    "Set aside",
                    [run(metrics.RunMetric.QUARANTINED, sum_), run(metrics.RunMetric.SUBREDDITS_FAILED, sum_)],
                    width=12,
                ),
            ],
            [
                _graph(
                    "Reddit requests",
                    [ingest(metrics.IngestMetric.REDDIT_REQUESTS, sum_)],
                    width=12,
                ),
                _graph(
                    "Rate-limit waits and listing cap hits",
                    [ingest(metrics.IngestMetric.RATE_LIMIT_WAITS, sum_), ingest(metrics.IngestMetric.CAP_HITS, sum_)],
                    width=12,
                ),
            ],
            [
                cloudwatch.GraphWidget(
                    title="LLM cost (USD) and budget reached",
                    left=[score(metrics.ScoreMetric.COST_USD, sum_)],
                    # 1 in an hour where a run stopped at its budget: the alarm fires after three such hours.
                    right=[score(metrics.ScoreMetric.BUDGET_EXHAUSTED, max_)],
                    width=8,
                ),
                _graph("Model calls", [score(metrics.ScoreMetric.MODEL_CALLS, sum_)]),
                cloudwatch.GraphWidget(
                    title="Posts scored",
                    left=[
                        score(metrics.ScoreMetric.POSTS_SCORED, sum_),
                        score(metrics.ScoreMetric.POSTS_FAILED, sum_),
                        score(metrics.ScoreMetric.POSTS_DEFERRED, sum_),
                    ],
                    # The backlog after each run: a level, not a count to add up over the hour's runs.
                    right=[score(metrics.ScoreMetric.POSTS_WAITING, max_)],
                    width=8,
                ),
            ],
            [
                cloudwatch.GraphWidget(
                    title="Run cost",
                    left=[run(metrics.RunMetric.GLUE_DPU_HOURS, sum_)],
                    right=[run(metrics.RunMetric.ESTIMATED_COST_USD, sum_)],
                    width=8,
                ),
                _graph(
                    "Lambda duration (max, ms)",
                    [
                        function.metric_duration(period=_HOURLY, statistic=max_, label=name)
                        for name, function in functions.items()
                    ],
                ),
                _graph("Processing job ETL time", [glue_elapsed]),
            ],
            [
                _graph(
                    "Execution time (ms)",
                    [
                        state_machine.metric_time(period=_HOURLY, statistic=cloudwatch.Stats.AVERAGE, label="average"),
                        state_machine.metric_time(period=_HOURLY, statistic=max_, label="maximum"),
                    ],
                    width=24,
                ),
            ],
        ]


def _graph(title: str, left: Sequence[cloudwatch.IMetric], *, width: int = 8) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(left), width=width)
