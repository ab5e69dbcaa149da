"""parity/run/together.py: options joined into one container, and each check alone where
they cannot run together. No engine: the scope is a stand-in that records what it ran."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest
from docker.types import Ulimit

from parity.run.together import Together, union
from parity.workload.probe import Observation, command


class RecordingScope:
    """Runs nothing: answers each run with ``answer(argv, options)`` and records it."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.runs: list[tuple[list[str], dict[str, Any]]] = []

    def run(self, argv: list[str], *, timeout: float, **options: Any) -> Any:
        self.runs.append((argv, options))
        return self.answer(argv, options)


class Done:
    def __init__(self, status: int, stdout: bytes, stderr: bytes = b"") -> None:
        self.status, self.stdout, self.stderr = status, stdout, stderr


def _nofile_and_nproc() -> dict[str, Any]:
    return {
        "nofile": ([("rlimits",)], {"ulimits": [Ulimit(name="nofile", soft=1, hard=2)]}),
        "nproc": ([("uname",), ("rlimits",)], {"ulimits": [Ulimit(name="nproc", soft=3, hard=4)]}),
    }


def test_union_joins_lists_and_mappings_and_keeps_equal_values() -> None:
    joined = union(
        [
            {"ulimits": [1], "sysctls": {"a": "1"}, "cpuset_cpus": "0"},
            {"ulimits": [2], "sysctls": {"b": "2"}, "cpuset_cpus": "0"},
        ]
    )
    assert joined == {"ulimits": [1, 2], "sysctls": {"a": "1", "b": "2"}, "cpuset_cpus": "0"}


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ({"cpuset_cpus": "0"}, {"cpuset_cpus": "1"}, "option cpuset_cpus: '0' and '1' cannot go together"),
        ({"sysctls": {"a": "1"}}, {"sysctls": {"a": "2"}}, "option sysctls: a given two values"),
    ],
)
def test_union_refuses_options_that_clash(first: dict[str, Any], second: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        union([first, second])


def test_one_container_answers_every_check_in_order() -> None:
    lines = b'[{"op":"rlimits","ok":true,"n":1},{"op":"uname","ok":true},{"op":"rlimits","ok":true,"n":2}]\n'
    scope = RecordingScope(lambda argv, options: Done(0, lines))
    shared = Together(lambda: scope, _nofile_and_nproc(), timeout=5)  # type: ignore[arg-type,return-value]

    def alone(*ops: Any, **options: Any) -> list[Observation]:
        raise AssertionError("observed alone although the container ran")

    nproc, nofile = shared.observe("nproc", alone), shared.observe("nofile", alone)
    assert ([dict(o) for o in nofile], [dict(o) for o in nproc]) == (
        [{"op": "rlimits", "ok": True, "n": 1}],
        [{"op": "uname", "ok": True}, {"op": "rlimits", "ok": True, "n": 2}],
    )
    ((argv, options),) = scope.runs
    assert argv == command([("rlimits",), ("uname",), ("rlimits",)])
    assert [u["Name"] for u in options["ulimits"]] == ["nofile", "nproc"]


@pytest.mark.parametrize(
    "answer",
    [
        lambda argv, options: Done(1, b"", b"probe: bad"),
        lambda argv, options: (_ for _ in ()).throw(docker.errors.APIError("sysctl not allowed")),
        lambda argv, options: Done(0, b"not json\n"),
    ],
    ids=["exit status", "refused by the engine", "unparsable output"],
)
def test_where_they_cannot_run_together_each_check_observes_alone(
    answer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = RecordingScope(answer)
    shared = Together(lambda: scope, _nofile_and_nproc(), timeout=5)  # type: ignore[arg-type,return-value]
    asked: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def alone(*ops: Any, **options: Any) -> list[Observation]:
        asked.append((ops, options))
        return [Observation({"op": "alone", "ok": True})]

    assert [dict(o) for o in shared.observe("nofile", alone)] == [{"op": "alone", "ok": True}]
    shared.observe("nproc", alone)
    assert len(scope.runs) == 1  # the joined container is tried once
    assert [(ops, [u["Name"] for u in options["ulimits"]]) for ops, options in asked] == [
        ((("rlimits",),), ["nofile"]),
        ((("uname",), ("rlimits",)), ["nproc"]),
    ]
    assert "observed alone: the options of nofile, nproc did not run together" in capsys.readouterr().out
