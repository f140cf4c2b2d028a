"""Walks a Step Functions definition (JSONPath flavour) locally, mapping each Task state to a function.

Just what the pipeline's definition uses, and loudly nothing else: Pass, Task, Map (inline),
Choice (string and boolean comparisons, ``And``/``Or``/``Not``), Wait (not waited: a local task is done
when it returns), Succeed, Fail; ``Parameters``/``ItemSelector`` with ``.$`` paths, the context object
(``$$.Execution``, ``$$.Map.Item``) and the intrinsics ``States.JsonMerge``, ``States.Format`` and
``States.JsonToString``; ``ResultSelector``, ``ResultPath``, ``OutputPath``, ``Catch`` (``States.ALL`` catching neither
``States.Runtime`` nor ``States.DataLimitExceeded``, as in Step Functions). ``Retry`` is the
cloud's answer to transient faults (Lambda throttles, Glue busy): a local task's failure is not
transient, so it goes straight to the state's Catch.

A task function receives the state's effective parameters and returns what the service
integration would (``{"Payload": ...}`` for Lambda, the job run for Glue). It raises to fail the
state: the error name is the exception's class name, as Lambda reports an unhandled error.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExecutionResult", "LocalStateMachine", "StateFailed", "TaskFunction"]

TaskFunction = Callable[[Any], Any]

_ALL = "States.ALL"
# What States.ALL does not catch: the execution fails at once (no Catch, so no notice either).
_UNCATCHABLE_BY_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})


class StateFailed(Exception):
    """A state failed with a Step Functions error name and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class ExecutionResult:
    status: str  # SUCCEEDED or FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    # Every state entered, in order ("Ingest/Ingest subreddit" for a Map's iterations, once per item).
    states: list[str] = field(default_factory=list)
    # Seconds spent in each top-level state that ran.
    durations: dict[str, float] = field(default_factory=dict)


class LocalStateMachine:
    """One definition, its task functions, and the local run's controls (stop or fail after a state)."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        tasks: Mapping[str, TaskFunction],
        *,
        max_concurrency: int = 1,
        until: str | None = None,
        fail_after: str | None = None,
        around: Mapping[str, Callable[[], AbstractContextManager[Any]]] | None = None,
    ) -> None:
        """``until``: succeed right after that (top-level) state; ``fail_after``: fail it just after it
        completed, through its own Catch, as a crash after the stage's writes would. ``around``: a
        context each named top-level state runs in (a stage's environment and logs, for all its tasks)."""
        self.definition = definition
        self.tasks = tasks
        self.around = around or {}
        self.max_concurrency = max_concurrency
        self.until = until
        self.fail_after = fail_after
        top = definition["States"]
        for name in (until, fail_after):
            if name is not None and name not in top:
                raise ValueError(f"no state {name!r} in the definition; its states: {', '.join(top)}")
        missing = sorted(set(_task_states(definition)) - set(tasks))
        if missing:
            raise ValueError(f"no local implementation for the definition's task states {missing}")

    def start(self, execution_input: Any, *, name: str, start_time: str) -> ExecutionResult:
        context = {
            "Execution": {"Name": name, "StartTime": start_time, "Id": f"local:{name}", "Input": execution_input}
        }
        result = ExecutionResult(status="SUCCEEDED")
        try:
            result.output = self._run(self.definition, copy.deepcopy(execution_input), context, result, prefix="")
        except StateFailed as failure:
            result.status, result.error, result.cause = "FAILED", failure.error, failure.cause
        return result

    # ------------------------------------------------------------------ the walk

    def _run(
        self, machine: Mapping[str, Any], data: Any, context: dict[str, Any], result: ExecutionResult, *, prefix: str
    ) -> Any:
        states = machine["States"]
        name: str | None = machine["StartAt"]
        top = not prefix
        while name is not None:
            state = states[name]
            result.states.append(prefix + name)
            kind = state["Type"]
            if kind == "Succeed":
                return _output(state, data)
            if kind == "Fail":
                raise StateFailed(
                    _evaluate(state["ErrorPath"], data, context)
                    if "ErrorPath" in state
                    else state.get("Error", "States.Fail"),
                    _evaluate(state["CausePath"], data, context) if "CausePath" in state else state.get("Cause", ""),
                )
            if kind == "Choice":
                name = _choose(name, state, data, context)
                continue
            if kind == "Wait":
                data = _output(state, data)
                name = None if state.get("End") else state["Next"]
                continue
            started = time.monotonic()
            try:
                with self.around.get(name, nullcontext)() if top else nullcontext():
                    data = self._state(name, state, data, context, result, prefix)
                if top and name == self.fail_after:
                    raise StateFailed(
                        "Local.FailAfter", f"--fail-after {name}: the run fails just after the state's writes"
                    )
            except StateFailed as failure:
                if top:
                    result.durations[name] = round(time.monotonic() - started, 3)
                catcher = _catcher(state, failure.error)
                if catcher is None:
                    raise
                error = {"Error": failure.error, "Cause": failure.cause}
                data = _set(data, catcher.get("ResultPath", "$"), error)
                name = catcher["Next"]
                continue
            if top:
                result.durations[name] = round(time.monotonic() - started, 3)
            if top and name == self.until:
                return data
            name = None if state.get("End") else state["Next"]
        return data

    def _state(
        self,
        name: str,
        state: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        result: ExecutionResult,
        prefix: str,
    ) -> Any:
        kind = state["Type"]
        effective = _path(data, context, state.get("InputPath", "$"))
        if kind == "Pass":
            value = state["Result"] if "Result" in state else _template(state.get("Parameters"), effective, context)
        elif kind == "Task":
            parameters = _template(state.get("Parameters"), effective, context)
            try:
                value = self.tasks[name](parameters)
            except StateFailed:
                raise
            except Exception as exc:  # the task's own failure: named as Lambda names an unhandled error
                raise StateFailed(type(exc).__name__, str(exc)) from exc
        elif kind == "Map":
            value = self._map(name, state, effective, context, result, prefix)
        else:
            raise StateFailed("Local.UnsupportedState", f"state {name!r} is a {kind}, which the local run cannot walk")
        if "ResultSelector" in state:  # a Pass state has none
            value = _template(state["ResultSelector"], value, context)
        return _output(state, _set(data, state.get("ResultPath", "$"), value))

    def _map(
        self,
        name: str,
        state: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        result: ExecutionResult,
        prefix: str,
    ) -> list[Any]:
        items = _path(data, context, state.get("ItemsPath", "$"))
        if not isinstance(items, list):
            raise StateFailed("States.Runtime", f"{name}: ItemsPath does not select a list")
        processor = state.get("ItemProcessor") or state["Iterator"]
        width = max(1, min(self.max_concurrency, state.get("MaxConcurrency") or len(items) or 1))

        def iteration(index: int) -> tuple[Any, ExecutionResult]:
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": items[index]}}}
            selector = state.get("ItemSelector") or state.get("Parameters")
            item = _template(selector, data, item_context) if selector else items[index]
            walked = ExecutionResult(status="SUCCEEDED")
            return self._run(processor, item, item_context, walked, prefix=f"{prefix}{name}/"), walked

        with ThreadPoolExecutor(max_workers=width) as pool:
            outcomes = list(pool.map(iteration, range(len(items))))
        for _, walked in outcomes:
            result.states.extend(walked.states)
        return [output for output, _ in outcomes]


# ---------------------------------------------------------------------- JSONPath, the parts used


def _task_states(machine: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for name, state in machine["States"].items():
        if state["Type"] == "Task":
            names.append(name)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            names.extend(_task_states(processor))
    return names


def _choose(name: str, state: Mapping[str, Any], data: Any, context: Mapping[str, Any]) -> str:
    for rule in state.get("Choices", []):
        if _holds(rule, data, context):
            return str(rule["Next"])
    if "Default" not in state:
        raise StateFailed("States.NoChoiceMatched", f"{name}: no choice matched and there is no default")
    return str(state["Default"])


_COMPARISONS = {
    "StringEquals": lambda value, expected: value == expected,
    "BooleanEquals": lambda value, expected: value is expected,
    "NumericEquals": lambda value, expected: value == expected,
    "NumericGreaterThanEquals": lambda value, expected: value >= expected,
}


def _holds(rule: Mapping[str, Any], data: Any, context: Mapping[str, Any]) -> bool:
    if "And" in rule:
        return all(_holds(inner, data, context) for inner in rule["And"])
    if "Or" in rule:
        return any(_holds(inner, data, context) for inner in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], data, context)
    if "IsPresent" in rule:
        try:
            _path(data, context, rule["Variable"])
        except StateFailed:
            return not rule["IsPresent"]
        return bool(rule["IsPresent"])
    for comparison, test in _COMPARISONS.items():
        if comparison in rule:
            return bool(test(_path(data, context, rule["Variable"]), rule[comparison]))
    raise StateFailed("States.Runtime", f"the local run does not implement the choice rule {sorted(rule)}")


def _catcher(state: Mapping[str, Any], error: str) -> Mapping[str, Any] | None:
    for catcher in state.get("Catch", []):
        if error in catcher["ErrorEquals"] or (_ALL in catcher["ErrorEquals"] and error not in _UNCATCHABLE_BY_ALL):
            return catcher
    return None


def _output(state: Mapping[str, Any], data: Any) -> Any:
    return _path(data, {}, state.get("OutputPath", "$"))


_SEGMENT = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def _path(data: Any, context: Mapping[str, Any], path: str | None) -> Any:
    if path is None:
        return {}
    if not path.startswith("$"):
        raise StateFailed("States.Runtime", f"{path!r} is not a JSONPath")
    value: Any = context if path.startswith("$$") else data
    rest = path[2:] if path.startswith("$$") else path[1:]
    for match in _SEGMENT.finditer(rest):
        key, index = match.groups()
        try:
            value = value[int(index)] if index is not None else value[key]
        except (KeyError, IndexError, TypeError):
            raise StateFailed("States.Runtime", f"the JSONPath {path!r} selects nothing") from None
    return value


def _set(data: Any, path: str | None, value: Any) -> Any:
    """``ResultPath``: null discards the result, ``$`` replaces the input, ``$.a.b`` sets inside a copy."""
    if path is None:
        return data
    if path == "$":
        return value
    keys = [match.group(1) for match in _SEGMENT.finditer(path[1:])]
    updated = dict(data) if isinstance(data, Mapping) else {}
    target = updated
    for key in keys[:-1]:
        target[key] = dict(target.get(key) or {})
        target = target[key]
    target[keys[-1]] = value
    return updated


def _template(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """``Parameters``-style: keys ending in ``.$`` are paths or intrinsics; everything else is literal."""
    if template is None:
        return data
    if isinstance(template, Mapping):
        rendered: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                rendered[key[:-2]] = _evaluate(value, data, context)
            else:
                rendered[key] = _template(value, data, context)
        return rendered
    if isinstance(template, list):
        return [_template(item, data, context) for item in template]
    return template


def _evaluate(expression: str, data: Any, context: Mapping[str, Any]) -> Any:
    if expression.startswith("$"):
        return _path(data, context, expression)
    match = re.fullmatch(r"(States\.\w+)\((.*)\)", expression, flags=re.S)
    if match is None:
        raise StateFailed("States.Runtime", f"cannot evaluate {expression!r}")
    function, arguments = (
        match.group(1),
        [_argument(argument, data, context) for argument in _split_arguments(match.group(2))],
    )
    if function == "States.JsonMerge":
        left, right, deep = arguments
        if deep:
            raise StateFailed("States.Runtime", "States.JsonMerge deep merge is not supported by Step Functions")
        return {**left, **right}
    if function == "States.Format":
        text, *values = arguments
        pieces = re.split(r"(?<!\\){}", text)
        if len(pieces) != len(values) + 1:
            raise StateFailed("States.Runtime", f"States.Format: {len(values)} arguments for {len(pieces) - 1} {{}}")
        rendered = pieces[0]
        for value, piece in zip(values, pieces[1:], strict=True):
            rendered += (value if isinstance(value, str) else json.dumps(value)) + piece
        return rendered
    if function == "States.JsonToString":
        (value,) = arguments
        return json.dumps(value, separators=(",", ":"))
    raise StateFailed("States.Runtime", f"the local run does not implement {function}")


def _split_arguments(text: str) -> list[str]:
    arguments, current, quoted, depth = [], "", False, 0
    for index, char in enumerate(text):
        if char == "'" and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        if char == "," and not quoted and depth == 0:
            arguments.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        arguments.append(current.strip())
    return arguments


def _argument(text: str, data: Any, context: Mapping[str, Any]) -> Any:
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if text.startswith("$"):
        return _path(data, context, text)
    if text.startswith("States."):
        return _evaluate(text, data, context)
    return json.loads(text)  # numbers, true/false, null
