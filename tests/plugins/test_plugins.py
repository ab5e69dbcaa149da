"""The plugins, exercised on tiny projects with pytester, without Docker.

Unreachable targets point at sockets that do not exist; an engine that answers is a
FakeEngine replaying recorded /info and /version answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_engine import ONE_CHECK, REPO_CONFTEST, FakeEngine, recorded_api

pytest_plugins = ["pytester"]


THREE_TARGETS = """
targets:
  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}
  - {name: b, kind: mobyvm, engine: {url: 'unix:///nonexistent/b.sock'}}
  - {name: c, kind: hyperv, engine: {url: 'unix:///nonexistent/c.sock'}}
"""

CHECKS = """
import pytest

def test_one(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

@pytest.mark.requires("host_network")
def test_host_network(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

def test_without_target():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(REPO_CONFTEST)
    pytester.makefile(".yaml", matrix=THREE_TARGETS)
    pytester.makepyfile(test_checks=CHECKS)
    return pytester


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_ids_are_target_names_in_matrix_order(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q")
    # session-scoped parametrization groups a target's checks together, in matrix order
    assert collected(result) == [
        "test_checks.py::test_one[a]",
        "test_checks.py::test_host_network[a]",
        "test_checks.py::test_one[b]",
        "test_checks.py::test_host_network[b]",
        "test_checks.py::test_one[c]",
        "test_checks.py::test_host_network[c]",
        "test_checks.py::test_without_target",
    ]
    assert collected(project.runpytest("--collect-only", "-q")) == collected(result)


@pytest.mark.parametrize(("marker", "name"), [("linux", "a"), ("mobyvm", "b"), ("hyperv", "c")])
def test_kind_marker_selects_that_kind_only(project: pytest.Pytester, marker: str, name: str) -> None:
    result = project.runpytest("--collect-only", "-q", "-m", marker)
    assert collected(result) == [f"test_checks.py::test_one[{name}]", f"test_checks.py::test_host_network[{name}]"]


def test_target_option_selects_and_orders_with_the_reference_first(project: pytest.Pytester) -> None:
    """Named targets run in the order named, except the reference (a, the first linux
    target), whose checks run first: a check must pass there before it judges others."""
    result = project.runpytest("--collect-only", "-q", "--target", "c", "--target", "b", "--target", "a", "-k", "one")
    assert collected(result) == [
        "test_checks.py::test_one[a]",
        "test_checks.py::test_one[c]",
        "test_checks.py::test_one[b]",
    ]


def test_markers_are_registered(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.linux: runs against a target of kind linux",
            "@pytest.mark.mobyvm: runs against a target of kind mobyvm",
            "@pytest.mark.hyperv: runs against a target of kind hyperv",
            "@pytest.mark.requires(*capabilities): not applicable to targets *",
        ]
    )


def test_unknown_target_is_one_line(project: pytest.Pytester) -> None:
    result = project.runpytest("--target", "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        "ERROR: unknown target 'nosuch'; known targets: a, b, c"
    ]


def test_typo_in_matrix_is_one_line(project: pytest.Pytester) -> None:
    project.makefile(".yaml", matrix="targets:\n  - name: a\n    kind: linux\n    enigne: {}\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        f"ERROR: {project.path / 'matrix.yaml'}: target 'a': key 'enigne': unknown key"
    ]


def test_matrix_option_picks_another_file(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml", other="targets:\n  - {name: z, kind: linux, engine: {url: 'unix:///nonexistent/z.sock'}}\n"
    )
    result = project.runpytest("--collect-only", "-q", "--matrix", "other.yaml", "-k", "one")
    assert collected(result) == ["test_checks.py::test_one[z]"]


def test_matrix_option_missing_file(project: pytest.Pytester) -> None:
    result = project.runpytest("--matrix", "nosuch.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: nosuch.yaml: cannot read: No such file or directory"])


def test_unanswered_targets_are_skipped_with_reason_and_listed(project: pytest.Pytester) -> None:
    result = project.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=6)
    result.stdout.fnmatch_lines(
        [
            "parity run *: *matrix.yaml",
            "  a (linux): unavailable: unix:///nonexistent/a.sock: no such socket (is the engine running?)",
            "  b (mobyvm): unavailable: unix:///nonexistent/b.sock: no such socket (is the engine running?)",
            "  c (hyperv): unavailable: unix:///nonexistent/c.sock: no such socket (is the engine running?)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] test_checks.py:3: target a is not available: unix:///nonexistent/a.sock: no such socket (is the engine running?)"
        ]
    )


def test_named_unanswered_target_errors_in_one_line(project: pytest.Pytester) -> None:
    result = project.runpytest("-ra", "--target", "a", "-k", "one")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_one[[]a[]] _*",
            "target a: unix:///nonexistent/a.sock: no such socket (is the engine running?)",
            "parity: report *",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_no_target_of_the_marked_kind_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(REPO_CONFTEST)
    pytester.makefile(
        ".yaml", matrix="targets:\n  - {name: local, kind: linux, engine: {url: 'unix:///nonexistent/l.sock'}}\n"
    )
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest("-m", "hyperv")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        ["no test matches -m 'hyperv': the selected targets are of kind linux (see *matrix.yaml)"]
    )


def test_requires_unknown_capability_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_checks="import pytest\n\n@pytest.mark.requires('teleport')\n" + ONE_CHECK.replace("test_one", "test_x")
    )
    result = project.runpytest("--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: test_checks.py::test_x[[]a[]]: requires('teleport'): unknown capability"])


def test_requires_skips_as_not_applicable_before_contacting_the_engine(project: pytest.Pytester) -> None:
    result = project.runpytest("-rs", "--target", "c", "-k", "host_network")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] *: not applicable: target c does not declare host_network (runs containers with --network host): a Windows daemon has no host network (moby runconfig/hostconfig_windows.go; moby#38166)"
        ]
    )


def test_kind_that_contradicts_the_engine_stops_the_run(pytester: pytest.Pytester, tmp_path: Path) -> None:
    info, version = recorded_api("windows-client-hyperv-lcow-17134-docker-18.06.1-ce.json.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        pytester.makeconftest(REPO_CONFTEST)
        pytester.makefile(".yaml", matrix=f"targets:\n  - {{name: w, kind: linux, engine: {{url: '{engine.url}'}}}}\n")
        pytester.makepyfile(test_checks=CHECKS)
        result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        f"ERROR: {pytester.path / 'matrix.yaml'}: target 'w' ({engine.url}): declared kind linux, but the engine is "
        "a Windows engine (OSType 'windows', OperatingSystem 'Windows 10 Pro Version 1803 (OS Build 17134.228)', "
        "KernelVersion '10.0 17134 (17134.1.amd64fre.rs4_release.180410-1804)')"
    ]


def test_header_lists_what_was_detected(pytester: pytest.Pytester, tmp_path: Path) -> None:
    info, version = recorded_api("windows-client-hyperv-lcow-17134-docker-18.06.1-ce.json.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        pytester.makeconftest(REPO_CONFTEST)
        pytester.makefile(".yaml", matrix=f"targets:\n  - {{name: w, kind: hyperv, engine: {{url: '{engine.url}'}}}}\n")
        pytester.makepyfile(test_checks="def test_nothing():\n    pass\n")
        result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"  w (hyperv): {engine.url}: Windows 10 Pro Version 1803 (OS Build 17134.228), engine 18.06.1-ce (API 1.38), "
            "windows/x86_64, kernel 10.0 17134 (17134.1.amd64fre.rs4_release.180410-1804), build 17134.228, isolation hyperv, "
            "storage windowsfilter (windows) lcow (linux)",
            # a recorded engine runs no container: what containers see is not known, and says why
            "    containers: containers not observed: engine said 404: page not found: GET /images/parity-workload:*",
        ]
    )


def test_silent_engine_is_bounded(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "engine.sock", silent=True) as engine:
        pytester.makeconftest(REPO_CONFTEST)
        pytester.makefile(
            ".yaml", matrix=f"targets:\n  - {{name: s, kind: linux, engine: {{url: '{engine.url}', timeout: 1}}}}\n"
        )
        pytester.makepyfile(test_checks=CHECKS)
        result = pytester.runpytest("-rs", "-k", "one")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED *: target s is not available: {engine.url}: no answer within 1 s"])


def test_a_hyperv_leg_with_an_unreachable_engine_fails(project: pytest.Pytester) -> None:
    """What the nightly hyperv leg runs (-m hyperv --target NAME): a dead engine is a red
    night, each check failing in one line, never a green run of skips."""
    result = project.runpytest("-m", "hyperv", "--target", "c", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) + outcomes.get("failed", 0) > 0
    assert "passed" not in outcomes
    result.stdout.fnmatch_lines(["*target c: unix:///nonexistent/c.sock: no such socket (is the engine running?)*"])
