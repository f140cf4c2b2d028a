"""The pipeline's state machine as synthesized, per environment: its shape, its logs, its failure paths, its access.

The definition is read from the template (``DefinitionString``), rendered with every reference
pointed at an ARN-shaped stand-in (``tests.infra.state_machines``); states are named by
:mod:`lakehouse.pipeline` and resources found by what they are, never by logical id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from infra.config import EnvironmentConfig
from infra.constructs.pipeline_state_machine import (
    DATA_API_TRANSIENT_ERRORS,
    GLUE_BUSY_ERRORS,
    GLUE_TRANSIENT_ERRORS,
    INGEST_FAILED,
    LAMBDA_TRANSIENT_ERRORS,
    SCORE_TASK_MARGIN,
    SNS_TRANSIENT_ERRORS,
    throttle_attempts_covering,
)
from infra.constructs.publish_function import PUBLISH_HANDLER
from infra.constructs.score_function import SCORE_HANDLER
from infra.constructs.verify_function import VERIFY_HANDLER
from lakehouse.pipeline import INGEST_ITERATION_STATE, LOAD_STATUS_STATE, NOTIFY_STATE, Stage
from tests.infra.state_machines import Targets, follow, key_actions_denied, main_path, render, states
from tests.infra.templates import as_list, ingest_function, key_arn, one, role_statements

pytestmark = pytest.mark.cdk

ENVIRONMENTS = ("dev", "prod")
# Step Functions runs at most 40 iterations of an inline Map at once, whatever MaxConcurrency says.
INLINE_MAP_LIMIT = 40
STAGE_STATES = [stage.state_name for stage in Stage]
# A publisher to an SSE-KMS topic needs these on the topic's key (SNS encrypts on its behalf).
SNS_PUBLISH_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


@pytest.fixture(scope="module")
def raw_templates(templates: Mapping[str, assertions.Template]) -> dict[str, dict[str, Any]]:
    return {env: dict(templates[env].to_json()) for env in ENVIRONMENTS}


@pytest.fixture(scope="module")
def definitions(raw_templates: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {env: render(template, Targets.as_deployed(template)) for env, template in raw_templates.items()}


def _state_machine(template: assertions.Template) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::StepFunctions::StateMachine")


def _verify_function_id(template: assertions.Template) -> str:
    return one(template, "AWS::Lambda::Function", {"Handler": VERIFY_HANDLER})[0]


def _score_function_id(template: assertions.Template) -> str:
    return one(template, "AWS::Lambda::Function", {"Handler": SCORE_HANDLER})[0]


def _function_id(template: assertions.Template, handler: str) -> str:
    return one(template, "AWS::Lambda::Function", {"Handler": handler})[0]


def _referenced_ids(value: Any) -> set[str]:
    """Every logical id a (possibly nested) CloudFormation value refers to."""
    if isinstance(value, list):
        return set().union(*(_referenced_ids(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if "Ref" in value:
        return {value["Ref"]} - {"AWS::AccountId", "AWS::Partition", "AWS::Region"}
    if "Fn::GetAtt" in value:
        return {value["Fn::GetAtt"][0]}
    return set().union(*(_referenced_ids(item) for item in value.values())) if value else set()


# --------------------------------------------------------------------------- the resource


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_traced_standard_state_machine_per_environment_named_for_it(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    _, machine = _state_machine(templates[env])
    properties = machine["Properties"]
    assert properties["StateMachineName"] == f"{configs[env].resource_prefix}-pipeline"
    assert properties["StateMachineType"] == "STANDARD"  # redrive, a year of history, exactly-once tasks
    assert properties["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_executions_log_every_event_but_no_data_to_an_encrypted_vended_log_group(
    templates: Mapping[str, assertions.Template], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    template, config = templates[env], configs[env]
    _, machine = _state_machine(template)
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Execution data carries stage outputs and error causes, which can quote Reddit posts.
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group_id, attribute = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    log_group = template.to_json()["Resources"][log_group_id]["Properties"]
    # Under /aws/vendedlogs/ CloudWatch Logs does not grow its resource policy per log group.
    assert log_group["LogGroupName"] == f"/aws/vendedlogs/states/{config.resource_prefix}-pipeline"
    assert log_group["KmsKeyId"] == key_arn(template)
    assert log_group["RetentionInDays"] == config.log_retention_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_run_times_out_after_the_configured_minutes(
    definitions: Mapping[str, dict[str, Any]], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    assert definitions[env]["TimeoutSeconds"] == configs[env].orchestration.execution_timeout_minutes * 60


# --------------------------------------------------------------------------- the definition


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stages_run_in_order_from_start_to_success(definitions: Mapping[str, dict[str, Any]], env: str) -> None:
    definition = definitions[env]
    path = main_path(definition)
    assert [name for name in path if Stage.of_state(name) is not None] == STAGE_STATES
    assert definition["States"][path[-1]]["Type"] == "Succeed"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_run_defaults_to_the_environments_subreddits(
    definitions: Mapping[str, dict[str, Any]], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    definition = definitions[env]
    start = definition["States"][definition["StartAt"]]
    assert start["Parameters"]["defaults"]["subreddits"] == list(configs[env].subreddits)
    ingest = definition["States"][Stage.INGEST.state_name]
    assert ingest["Type"] == "Map"
    assert ingest["ItemsPath"] == "$.run.subreddits"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_task_retries_and_catches(definitions: Mapping[str, dict[str, Any]], env: str) -> None:
    tasks = {name: state for name, state in states(definitions[env]) if state["Type"] == "Task"}
    # The walk reaches inside the Map: the ingest iteration is a task of its own.
    assert {
        INGEST_ITERATION_STATE,
        NOTIFY_STATE,
        Stage.PROCESS.state_name,
        Stage.SCORE.state_name,
        Stage.PUBLISH.state_name,
        Stage.LOAD.state_name,
        LOAD_STATUS_STATE,
        Stage.VERIFY.state_name,
    } <= tasks.keys()
    lacking = {name: [field for field in ("Retry", "Catch") if not state.get(field)] for name, state in tasks.items()}
    assert {name: fields for name, fields in lacking.items() if fields} == {}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_task_retries_the_transient_errors_of_its_service_and_nothing_it_caused(
    definitions: Mapping[str, dict[str, Any]], env: str
) -> None:
    """A function's own failure (a RunNotReconciled) would fail the same again: only IngestFailed gets one more go."""
    retried = {
        name: {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        for name, state in states(definitions[env])
        if state["Type"] == "Task"
    }
    assert retried == {
        INGEST_ITERATION_STATE: {*LAMBDA_TRANSIENT_ERRORS, INGEST_FAILED},
        Stage.PROCESS.state_name: {*GLUE_BUSY_ERRORS, *GLUE_TRANSIENT_ERRORS},
        Stage.SCORE.state_name: set(LAMBDA_TRANSIENT_ERRORS),  # not ScoringDegraded: it would fail the same again
        Stage.PUBLISH.state_name: set(LAMBDA_TRANSIENT_ERRORS),  # not QueryFailed: Athena said no
        Stage.LOAD.state_name: set(DATA_API_TRANSIENT_ERRORS),
        LOAD_STATUS_STATE: set(DATA_API_TRANSIENT_ERRORS),
        Stage.VERIFY.state_name: set(LAMBDA_TRANSIENT_ERRORS),
        NOTIFY_STATE: set(SNS_TRANSIENT_ERRORS),
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_failed_subreddit_is_recorded_inside_the_map_and_the_run_goes_on(
    definitions: Mapping[str, dict[str, Any]], env: str
) -> None:
    processor = definitions[env]["States"][Stage.INGEST.state_name]["ItemProcessor"]
    (catch,) = processor["States"][INGEST_ITERATION_STATE]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    recorded = processor["States"][catch["Next"]]
    assert recorded["Type"] == "Pass"
    assert recorded.get("End") is True  # the iteration succeeds with the failure as its result
    assert recorded["Parameters"]["status"] == "failed"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_stage_failure_notifies_then_fails_the_run_with_the_stages_error(
    definitions: Mapping[str, dict[str, Any]], env: str
) -> None:
    definition = definitions[env]
    top_level = definition["States"]
    catching = {name: state for name, state in top_level.items() if state.get("Catch")}
    assert catching.keys() == {
        Stage.INGEST.state_name,
        Stage.PROCESS.state_name,
        Stage.SCORE.state_name,
        Stage.PUBLISH.state_name,
        Stage.LOAD.state_name,
        LOAD_STATUS_STATE,
        Stage.VERIFY.state_name,
        NOTIFY_STATE,
    }
    for name, state in catching.items():
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"], name
        route = follow(definition, catch["Next"])
        if name == NOTIFY_STATE:
            # A notice that cannot be sent must not hide the failure: the run fails all the same.
            assert [top_level[step]["Type"] for step in route] == ["Fail"], route
            continue
        assert route[-2] == NOTIFY_STATE, route
        failed = top_level[route[-1]]
        assert failed["Type"] == "Fail", route
        # The notice names the stage: the state before it records which one failed (the poll is Load's).
        stage = Stage.LOAD.state_name if name == LOAD_STATUS_STATE else name
        assert top_level[route[0]].get("Result") == stage, route
        # The run fails with the stage and the caught error (Verify.RunNotReconciled), and the error's cause.
        assert failed["ErrorPath"] == f"States.Format('{{}}.{{}}', $.failed_state, {catch['ResultPath']}.Error)"
        assert failed["CausePath"] == f"{catch['ResultPath']}.Cause"


# --------------------------------------------------------------------------- score


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_score_invokes_the_score_function_between_process_and_publish(
    raw_templates: Mapping[str, dict[str, Any]], definitions: Mapping[str, dict[str, Any]], env: str
) -> None:
    definition = definitions[env]
    path = main_path(definition)
    assert path[path.index(Stage.PROCESS.state_name) + 1 : path.index(Stage.PUBLISH.state_name) + 1] == [
        Stage.SCORE.state_name,
        Stage.PUBLISH.state_name,
    ]
    score = definition["States"][Stage.SCORE.state_name]
    assert score["Type"] == "Task"
    assert score["Resource"] == "arn:aws:states:::lambda:invoke"
    assert score["Parameters"] == {
        "FunctionName": Targets.as_deployed(raw_templates[env]).score_function_arn,
        "Payload": {"run.$": "$.run"},
    }
    # References, not data: the manifest and a few counts; the batch details stay in score.json.
    assert score["ResultSelector"] == {
        f"{name}.$": f"$.Payload.{name}"
        for name in ("manifest", "recorded", "scored", "model_calls", "cost_usd", "budget_exhausted")
    }
    assert score["ResultPath"] == "$.score"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_failed_score_is_caught_into_score_failed_and_notified(
    definitions: Mapping[str, dict[str, Any]], env: str
) -> None:
    definition = definitions[env]
    (catch,) = definition["States"][Stage.SCORE.state_name]["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.failure",
        "Next": f"{Stage.SCORE.state_name} failed",
    }
    route = follow(definition, catch["Next"])
    assert route[1:] == [NOTIFY_STATE, "Run failed"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_score_waits_as_long_as_its_function_and_outwaits_another_runs_scorer(
    definitions: Mapping[str, dict[str, Any]], configs: Mapping[str, EnvironmentConfig], env: str
) -> None:
    timeout = configs[env].llm.timeout_seconds
    score = definitions[env]["States"][Stage.SCORE.state_name]
    # A minute past the function's: its own timeout error comes first, named by the Catch.
    assert score["TimeoutSeconds"] == timeout + SCORE_TASK_MARGIN.to_seconds()
    throttled, transient = score["Retry"]
    assert throttled["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
    # Full jitter waits half of each delay on average: the delays add up to twice the busy scorer's timeout.
    delays = [
        min(throttled["IntervalSeconds"] * throttled["BackoffRate"] ** attempt, throttled["MaxDelaySeconds"])
        for attempt in range(throttled["MaxAttempts"])
    ]
    assert sum(delays) >= 2 * timeout > sum(delays[:-1])
    assert throttled["MaxAttempts"] == throttle_attempts_covering(cdk.Duration.seconds(timeout))
    assert throttled["JitterStrategy"] == "FULL"
    assert set(transient["ErrorEquals"]) == set(LAMBDA_TRANSIENT_ERRORS)


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ingest_fans_out_to_the_configured_concurrency_which_the_function_reserves(
    templates: Mapping[str, assertions.Template],
    definitions: Mapping[str, dict[str, Any]],
    configs: Mapping[str, EnvironmentConfig],
    env: str,
) -> None:
    concurrency = configs[env].orchestration.max_concurrency
    ingest = definitions[env]["States"][Stage.INGEST.state_name]
    assert ingest["MaxConcurrency"] == concurrency
    assert ingest["MaxConcurrency"] <= INLINE_MAP_LIMIT
    _, function = ingest_function(templates[env])
    # As many invocations at once as the Map starts: the Reddit budget is split among that many.
    assert function["Properties"]["ReservedConcurrentExecutions"] == concurrency


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_role_reaches_only_the_pipelines_functions_job_and_topic(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    template = templates[env]
    _, machine = _state_machine(template)
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    ingest_id, _ = ingest_function(template)
    verify_id = _verify_function_id(template)
    score_id = _score_function_id(template)
    job_id, _ = one(template, "AWS::Glue::Job")
    topic_id, _ = one(template, "AWS::SNS::Topic")

    actions: dict[str, set[str]] = {}
    targets: dict[str, set[str]] = {}
    for statement in role_statements(template, role_id):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            service = action.split(":")[0]
            actions.setdefault(service, set()).add(action)
            if statement["Resource"] == "*":
                # Only what has no resource-level permission: X-Ray, log delivery, and the Data API's
                # DescribeStatement (a statement id; a caller sees only its own).
                assert service in {"logs", "xray"} or action == "redshift-data:DescribeStatement", statement
            else:
                targets.setdefault(service, set()).update(_referenced_ids(statement["Resource"]))

    assert actions.keys() <= {"lambda", "glue", "sns", "logs", "xray", "kms", "redshift-data", "redshift-serverless"}
    assert actions["lambda"] == {"lambda:InvokeFunction"}
    assert targets["lambda"] == {ingest_id, score_id, _function_id(template, PUBLISH_HANDLER), verify_id}
    (workgroup_id, _) = one(template, "AWS::RedshiftServerless::Workgroup")
    assert actions["redshift-data"] == {"redshift-data:BatchExecuteStatement", "redshift-data:DescribeStatement"}
    assert targets["redshift-data"] == targets["redshift-serverless"] == {workgroup_id}
    assert actions["redshift-serverless"] == {"redshift-serverless:GetCredentials"}
    assert (
        {"glue:StartJobRun", "glue:GetJobRun"}
        <= actions["glue"]
        <= {
            "glue:StartJobRun",
            "glue:GetJobRun",
            "glue:GetJobRuns",
            "glue:BatchStopJobRun",
        }
    )
    assert targets["glue"] == {job_id}
    assert actions["sns"] == {"sns:Publish"}
    assert targets["sns"] == {topic_id}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_role_may_use_the_topics_key_so_the_failure_notice_is_delivered(
    templates: Mapping[str, assertions.Template], env: str
) -> None:
    """The alarm topic is SSE-KMS: SNS refuses a publish whose caller may not use the key (KMSAccessDenied),
    and the Notify state's Catch would then fail the run without a notice."""
    template = templates[env]
    _, topic = one(template, "AWS::SNS::Topic")
    topic_key = topic["Properties"]["KmsMasterKeyId"]
    assert topic_key == key_arn(template)
    _, machine = _state_machine(template)
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    missing = key_actions_denied(template, role_id, topic_key, SNS_PUBLISH_KEY_ACTIONS)
    assert missing == [], f"the role publishes to a KMS-encrypted topic but may not use its key: {missing}"
