"""Property checks of what crosses into a process: generated exit codes, argv and environment.

Differential where it can be: with the run's reference target, each generated example
also runs there and the two observations must be equal (the reference's own run checks
the Linux model); without one, the target is checked against the model.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from parity.run.target import Target
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from suites.verdicts import differential

# Exec passes strings as UTF-8: any Unicode text without NUL (which execve cannot carry).
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
# Names PARITY_[A-Z0-9_]{1,12}: built from an alphabet, not st.from_regex, whose character
# classes cost hypothesis about 8 CPU seconds per process to compute.
names = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=12).map("PARITY_".__add__)


@given(code=st.integers(0, 255))
@example(code=0)
@example(code=255)
def test_generated_exit_codes_are_reported_exactly(
    probe: Prober, reference_probe: Prober | None, reference: Target | None, code: int
) -> None:
    """Any exit code 0..255 of an exec'd process is the code docker exec reports. One
    exec per example (each costs seconds on an emulated VM): the generated codes, and the
    two ends of the range every run.

    Source: exit(3) (status & 0377); Engine API GET /exec/{id}/json ExitCode.
    Level: MUST, https://man7.org/linux/man-pages/man3/exit.3.html
    """

    def reported(prober: Prober) -> int | None:
        return prober.container.exec_run([PROBE_PATH, "exit", str(code)])[0]

    on_reference = reported(reference_probe) if reference_probe else None
    differential(reported(probe), code, reference=on_reference, model=code, reference_name=_name(reference))


@given(arguments=st.lists(texts, max_size=8))
def test_generated_argv_is_passed_byte_exact(
    probe: Prober, reference_probe: Prober | None, reference: Target | None, arguments: list[str]
) -> None:
    """Any list of NUL-free arguments reaches the process unchanged (no shell, no splitting).

    Source: execve(2); Engine API POST /containers/{id}/exec Cmd (exec form).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """

    def seen(prober: Prober) -> list[bytes]:
        return [a.encode("latin-1") for a in prober.one("argv", *arguments, through_exec=True)["argv"]]

    on_reference = seen(reference_probe) if reference_probe else None
    model = [a.encode() for a in arguments]
    differential(seen(probe), arguments, reference=on_reference, model=model, reference_name=_name(reference))


@given(environment=st.dictionaries(names, texts, max_size=6))
def test_generated_environment_is_passed_byte_exact(
    probe: Prober, reference_probe: Prober | None, reference: Target | None, environment: dict[str, str]
) -> None:
    """Any NUL-free values given to exec's Env appear in the process environment as
    NAME=VALUE, byte for byte.

    Source: environ(7); Engine API POST /containers/{id}/exec Env.
    Level: MUST, https://man7.org/linux/man-pages/man7/environ.7.html
    """

    def seen(prober: Prober) -> list[bytes]:
        entries = prober(("env",), environment=environment, through_exec=True)[0]["env"]
        return sorted(e.encode("latin-1") for e in entries if e.startswith("PARITY_"))

    on_reference = seen(reference_probe) if reference_probe else None
    model = sorted(f"{k}={v}".encode() for k, v in environment.items())
    differential(seen(probe), environment, reference=on_reference, model=model, reference_name=_name(reference))


def _name(reference: Target | None) -> str:
    return reference.name if reference is not None else ""
