"""The local walk of a definition: what Step Functions does with paths, intrinsics, Map, Catch and Fail."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lakehouse_tools.local.state_machine import LocalStateMachine

START = {"name": "run-7", "start_time": "2026-12-02T00:00:00+00:00"}


def _machine(states: dict[str, Any], start: str, **options: Any) -> dict[str, Any]:
    return {"StartAt": start, "States": states, **options}


def test_defaults_merge_under_the_input_and_reach_each_map_item() -> None:
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def invoke(parameters: dict[str, Any]) -> dict[str, Any]:
        with lock:
            seen.append(parameters["Payload"])
        return {"Payload": {"subreddit": parameters["Payload"]["subreddit"], "status": "ok"}}

    definition = _machine(
        {
            "Defaults": {
                "Type": "Pass",
                "Parameters": {"defaults": {"run_id.$": "$$.Execution.Name", "subreddits": ["a", "b"]}, "given.$": "$"},
                "Next": "Merge",
            },
            "Merge": {
                "Type": "Pass",
                "Parameters": {"run.$": "States.JsonMerge($.defaults, $.given, false)"},
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.run.subreddits",
                "ItemSelector": {"run_id.$": "$.run.run_id", "subreddit.$": "$$.Map.Item.Value"},
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "Invoke",
                    "States": {
                        "Invoke": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"Payload.$": "$"},
                            "ResultSelector": {"status.$": "$.Payload.status"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.results",
                "End": True,
            },
        },
        "Defaults",
    )
    machine = LocalStateMachine(definition, {"Invoke": invoke}, max_concurrency=4)

    result = machine.start({"subreddits": ["x", "y", "z"]}, **START)

    assert result.status == "SUCCEEDED"
    assert sorted(item["subreddit"] for item in seen) == ["x", "y", "z"]  # the input's list wins
    assert {item["run_id"] for item in seen} == {"run-7"}
    assert result.output["results"] == [{"status": "ok"}] * 3
    assert result.states.count("Each/Invoke") == 3


def test_a_task_failure_is_caught_formatted_and_fails_the_run_with_its_error() -> None:
    notices: list[str] = []

    def broken(_: Any) -> Any:
        raise TimeoutError("Reddit took too long")

    definition = _machine(
        {
            "Work": {
                "Type": "Task",
                "Resource": "x",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Notify"}],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Notify": {
                "Type": "Task",
                "Resource": "y",
                "Parameters": {"Message.$": "States.Format('run {} failed: {}', $$.Execution.Name, $.failure.Error)"},
                "ResultPath": None,
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
        },
        "Work",
    )
    tasks = {"Work": broken, "Notify": lambda parameters: notices.append(parameters["Message"])}

    result = LocalStateMachine(definition, tasks).start({}, **START)

    assert (result.status, result.error, result.cause) == ("FAILED", "TimeoutError", "Reddit took too long")
    assert notices == ["run run-7 failed: TimeoutError"]
    assert result.states == ["Work", "Notify", "Failed"]


def test_fail_after_fails_the_state_through_its_catch_and_until_stops_cleanly() -> None:
    ran: list[str] = []
    states = {
        "One": {
            "Type": "Task",
            "Resource": "x",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}],
            "Next": "Two",
        },
        "Two": {"Type": "Task", "Resource": "x", "End": True},
        "Failed": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
    }
    tasks = {name: (lambda _, name=name: ran.append(name) or {}) for name in ("One", "Two")}

    failed = LocalStateMachine(_machine(states, "One"), tasks, fail_after="One").start({}, **START)
    stopped = LocalStateMachine(_machine(states, "One"), tasks, until="One").start({}, **START)

    assert (failed.status, failed.error) == ("FAILED", "Local.FailAfter")
    assert stopped.status == "SUCCEEDED"
    assert ran == ["One", "One"]  # Two never ran


def test_a_path_that_selects_nothing_is_a_runtime_error_states_all_does_not_catch() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]
    states = {
        "Use": {"Type": "Task", "Resource": "x", "Parameters": {"x.$": "$.absent"}, "Catch": catch, "End": True},
        "Handled": {"Type": "Succeed"},
    }
    result = LocalStateMachine(_machine(states, "Use"), {"Use": lambda _: {}}).start({}, **START)
    assert (result.status, result.error, result.states) == ("FAILED", "States.Runtime", ["Use"])


def test_a_task_state_without_a_local_implementation_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no local implementation for the definition's task states \['Work'\]"):
        LocalStateMachine(_machine({"Work": {"Type": "Task", "Resource": "x", "End": True}}, "Work"), {})
