"""Property checks of what crosses into a process: generated exit codes, argv and environment."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober

# Exec passes strings as UTF-8: any Unicode text without NUL (which execve cannot carry).
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)


@given(codes=st.lists(st.integers(0, 255), min_size=1, max_size=4))
def test_generated_exit_codes_are_reported_exactly(probe: Prober, codes: list[int]) -> None:
    """Any exit code 0..255 of an exec'd process is the code docker exec reports.

    Source: exit(3) (status & 0377); Engine API GET /exec/{id}/json ExitCode.
    """
    assert [probe.container.exec_run([PROBE_PATH, "exit", str(code)])[0] for code in codes] == codes


@given(arguments=st.lists(texts, max_size=8))
def test_generated_argv_is_passed_byte_exact(probe: Prober, arguments: list[str]) -> None:
    """Any list of NUL-free arguments reaches the process unchanged (no shell, no splitting).

    Source: execve(2); Engine API POST /containers/{id}/exec Cmd (exec form).
    """
    seen = probe.one("argv", *arguments, through_exec=True)["argv"]
    assert [a.encode("latin-1") for a in seen] == [a.encode() for a in arguments]


@given(environment=st.dictionaries(st.from_regex(r"PARITY_[A-Z0-9_]{1,12}", fullmatch=True), texts, max_size=6))
def test_generated_environment_is_passed_byte_exact(probe: Prober, environment: dict[str, str]) -> None:
    """Any NUL-free values given to exec's Env appear in the process environment as
    NAME=VALUE, byte for byte.

    Source: environ(7); Engine API POST /containers/{id}/exec Env.
    """
    seen = probe(("env",), environment=environment, through_exec=True)[0]["env"]
    entries = [e.encode("latin-1") for e in seen if e.startswith("PARITY_")]
    assert sorted(entries) == sorted(f"{k}={v}".encode() for k, v in environment.items())
