"""The nightly CI configs (ci/nightly-github.yml, ci/nightly-azure.yml): they parse, are
valid under their CI system's schema, have the shape the matrix needs, every command they
run exists in this repository, every leg names its targets and keeps its reports, and no
script lets a failed command pass unnoticed."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity import kinds, nightly
from parity.config import matrix

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "ci" / "nightly-github.yml"
AZURE = ROOT / "ci" / "nightly-azure.yml"
TARGET_JOBS = {"linux": "linux", "desktop": "mobyvm", "hyperv": "hyperv"}  # job -> kind it runs
AZURE_TARGET_JOBS = {"Linux": "linux", "DesktopWindows": "mobyvm", "DesktopMacOS": "mobyvm", "HyperV": "hyperv"}
# check-jsonschema's builtin (vendored) schemas, with the options its own pre-commit hooks
# pass for each: no schema is fetched
SCHEMAS = {
    GITHUB: ["--builtin-schema", "vendor.github-workflows"],
    AZURE: [
        "--builtin-schema",
        "vendor.azure-pipelines",
        "--data-transform",
        "azure-pipelines",
        "--regex-variant",
        "nonunicode",
    ],
}
# what follows each native command in a PowerShell script: only the last one's exit
# status would count otherwise
NATIVE_CHECK = "if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"
# a command substitution or subexpression, not an Azure macro such as $(Build.SourcesDirectory)
SUBSTITUTION = re.compile(r"\$\((?![\w.]+\))")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def scripts(steps: list[dict[str, Any]]) -> list[str]:
    """The shell text of every step (GitHub run, Azure script/pwsh/bash)."""
    return [str(step[key]) for step in steps for key in ("run", "script", "pwsh", "bash") if key in step]


def problems_in(command: str) -> list[str]:
    """What a command refers to that does not exist in the repository."""
    found = []
    for path in re.findall(r"\bbash (\S+)", command) + re.findall(r"(?<![\w/$])(ci/[\w./-]+)", command):
        if not (ROOT / path).is_file():
            found.append(f"no file {path}")
    for module, sub in re.findall(r"-m (parity\.\w+) (\w+)", command):
        try:
            # a package's command line is its __main__ module
            found_module = importlib.import_module(module)
            if hasattr(found_module, "__path__"):
                found_module = importlib.import_module(f"{module}.__main__")
            commands = getattr(found_module, "COMMANDS", ())
        except ImportError:
            found.append(f"no module {module}")
            continue
        if sub not in commands:
            found.append(f"{module} has no command {sub}")
    for folder in re.findall(r"-m pytest (\S+)", command):
        if not (ROOT / folder).is_dir():
            found.append(f"no folder {folder}")
    for marker in re.findall(r"-m pytest \S+ -m (\w+)", command):
        if marker not in kinds.KINDS:
            found.append(f"no marker {marker}")
    for path in re.findall(r"--matrix=(\S+)", command):
        try:
            matrix.load(ROOT / path)
        except matrix.MatrixError as exc:
            found.append(str(exc))
    return found


def jobs_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Jobs by name: GitHub's mapping as it is, Azure's list by each job's ``job``."""
    jobs = config["jobs"]
    return dict(jobs) if isinstance(jobs, dict) else {job["job"]: job for job in jobs}


def on_linux_image(job: dict[str, Any]) -> bool:
    """Whether a job runs on a hosted Ubuntu image (GitHub runs-on, Azure pool vmImage)."""
    pool = job.get("pool")
    image = job["runs-on"] if "runs-on" in job else pool.get("vmImage") if isinstance(pool, dict) else None
    return isinstance(image, str) and image.startswith("ubuntu-")


def shell_scripts(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(shell, text) of each script step of a job. GitHub: the step's ``shell``, else the
    job's default, else bash on an Ubuntu runner; Azure: ``pwsh``, ``powershell`` and
    ``bash`` steps say theirs, ``script`` is bash on an Ubuntu image. Anything else is
    "unstated" (a Windows runner's default shell, an Azure script on Windows: cmd.exe)."""
    fallback = "bash" if on_linux_image(job) else "unstated"
    default = job.get("defaults", {}).get("run", {}).get("shell", fallback)
    found = []
    for step in job["steps"]:
        if "run" in step:
            found.append((str(step.get("shell", default)), str(step["run"])))
        found += [(key, str(step[key])) for key in ("pwsh", "powershell", "bash") if key in step]
        if "script" in step:
            found.append((fallback, str(step["script"])))
    return found


def script_lines(script: str) -> list[str]:
    """A script's commands, one a line, without blank lines and comments."""
    return [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]


def runs_native_command(line: str) -> bool:
    """Whether a PowerShell line runs a native program: anything but PowerShell's own
    statements, which are (after an optional ``$name = ``) an expression (a variable,
    string, parenthesis or cast), ``if``, ``exit``, or a cmdlet (Verb-Noun). ``& x``,
    ``python ...`` and ``.venv/Scripts/python ...`` are native; so is any line this
    does not know, so an unknown line must be checked too."""
    expression = re.sub(r"^\$[\w:]+\s*=\s*", "", line)
    return not re.match(r"""[$("'\[]|(?:if|exit)\b|[A-Z][a-z]+-[A-Z]\w*(?:\s|$)""", expression)


def powershell_problems(script: str) -> list[str]:
    """PowerShell goes on after a native command fails, and a script's exit status is its
    last command's. So: ``$ErrorActionPreference = 'Stop'`` first (a failing cmdlet, e.g.
    writing $env:GITHUB_OUTPUT, stops the script), NATIVE_CHECK right after each native
    command, and no subexpression ``$(...)``, whose commands' exit status a string hides."""
    lines = script_lines(script)
    found = []
    if lines[:1] != ["$ErrorActionPreference = 'Stop'"]:
        found.append("does not start with $ErrorActionPreference = 'Stop'")
    for number, line in enumerate(lines):
        if SUBSTITUTION.search(line):
            found.append(f"a subexpression hides its exit status: {line}")
        if runs_native_command(line) and lines[number + 1 : number + 2] != [NATIVE_CHECK]:
            found.append(f"exit status unchecked: {line}")
    return found


def bash_problems(script: str) -> list[str]:
    """Azure runs bash scripts without -e, GitHub without pipefail: a script of more than
    one command starts with ``set -euo pipefail``. Under -e, ``x=$(cmd)`` fails with cmd but
    ``echo "$(cmd)"`` passes with echo: a command substitution is a whole assignment."""
    lines = script_lines(script)
    found = []
    if len(lines) > 1 and lines[0] != "set -euo pipefail":
        found.append("several commands, and set -euo pipefail is not the first")
    found += [
        f"a command substitution's exit status is lost: {line}"
        for line in lines
        if SUBSTITUTION.search(line) and not re.fullmatch(r"\w+=\$\(.*\)", line)
    ]
    return found


def pytest_legs(path: Path) -> list[tuple[str, str]]:
    """(job, command line) of each pytest run a config makes."""
    return [
        (name, line)
        for name, job in jobs_of(load(path)).items()
        for _, script in shell_scripts(job)
        for line in script_lines(script)
        if "-m pytest " in line
    ]


def target_problems(command: str) -> list[str]:
    """A pytest run must name its targets (--target NAME): without, a target whose engine
    does not answer is skipped, and a night with nothing tested passes. Each named target
    is in the --matrix file the run names, of the kind its -m selects."""
    targets = re.findall(r"--target[= ](\S+)", command)
    files = re.findall(r"--matrix=(\S+)", command)
    selected = re.findall(r"-m pytest \S+ -m (\w+)", command)
    if not targets:
        return ["names no --target: an engine that does not answer skips every check, and the job passes"]
    if len(files) != 1:
        return [f"names {len(files)} --matrix=FILE, not 1"]
    try:
        declared = {target.name: target.kind for target in matrix.load(ROOT / files[0]).targets}
    except matrix.MatrixError as exc:
        return [str(exc)]
    found = []
    for name in targets:
        if name not in declared:
            found.append(f"--target {name} is not in {files[0]}")
        elif selected and declared[name] != selected[0]:
            found.append(f"--target {name} is of kind {declared[name]}, -m selects {selected[0]}")
    return found


def github_upload_problems(config: dict[str, Any]) -> list[str]:
    """Each GitHub job that runs pytest uploads reports/ after it, also when it failed,
    as an artifact named by the title step's ``artifact`` output (the job and the build),
    with a fallback of the job's name; the legs of a matrix add their runner's OS."""
    found = []
    for name, job in jobs_of(config).items():
        steps = job["steps"]
        runs = [i for i, step in enumerate(steps) if "-m pytest " in str(step.get("run", ""))]
        uploads = [
            (i, step)
            for i, step in enumerate(steps)
            if str(step.get("uses", "")).startswith("actions/upload-artifact@")
            and str(step.get("with", {}).get("path", "")).rstrip("/") == "reports"
        ]
        if not runs:
            continue
        if len(uploads) != 1:
            found.append(f"{name}: {len(uploads)} uploads of reports/, not 1")
            continue
        (index, upload), titles = uploads[0], [step for step in steps if step.get("id") == "title"]
        artifact, title = str(upload["with"].get("name", "")), str(titles[0].get("run", "")) if titles else ""
        if upload.get("if") != "always()":
            found.append(f"{name}: uploads reports/ only when the job passed")
        if index < runs[-1]:
            found.append(f"{name}: uploads reports/ before pytest writes them")
        if not artifact.startswith("${{ steps.title.outputs.artifact || ") or f"'reports-{name}-" not in artifact:
            found.append(
                f"{name}: the artifact {artifact!r} is not named by the title step, falling back to reports-{name}-"
            )
        if f"artifact=reports-{name}-" not in title:
            found.append(f"{name}: the title step names no artifact=reports-{name}-...")
        if "strategy" in job and ("runner.os" not in artifact or "RUNNER_OS" not in title):
            found.append(f"{name}: the legs of its matrix upload under one name")
    return found


def azure_publish_problems(config: dict[str, Any]) -> list[str]:
    """Each Azure job that runs pytest publishes reports as a pipeline artifact after it,
    also when it failed, named reports-<job>-$(parityBuild)-attempt$(System.JobAttempt)
    (a re-run publishes anew), with parityBuild set by a script and defaulted."""
    found = []
    for name, job in jobs_of(config).items():
        steps = job["steps"]
        runs = [i for i, step in enumerate(steps) if any("-m pytest " in s for s in scripts([step]))]
        publishes = [(i, step) for i, step in enumerate(steps) if str(step.get("publish", "")).rstrip("/") == "reports"]
        if not runs:
            continue
        if len(publishes) != 1:
            found.append(f"{name}: {len(publishes)} publish steps of reports, not 1")
            continue
        index, publish = publishes[0]
        if publish.get("condition") != "always()":
            found.append(f"{name}: publishes reports only when the job passed")
        if index < runs[-1]:
            found.append(f"{name}: publishes reports before pytest writes them")
        if publish.get("artifact") != f"reports-{name}-$(parityBuild)-attempt$(System.JobAttempt)":
            found.append(f"{name}: the artifact {publish.get('artifact')!r} is not named by the job and build")
        if not any("task.setvariable variable=parityBuild]" in s for s in scripts(steps)):
            found.append(f"{name}: no script sets parityBuild")
        if "parityBuild" not in job.get("variables", {}):
            found.append(f"{name}: parityBuild has no default for a run that failed before the title")
    return found


def test_checker_finds_what_does_not_exist() -> None:
    assert problems_in(
        "bash ci/nosuch && python -m parity.workload push x && python -m parity.nosuch go && "
        "python -m pytest suites -m windows --matrix=ci/targets/nosuch.yaml -c ci/constraints.txt"
    ) == [
        "no file ci/nosuch",
        "no file ci/nosuch",
        "no file ci/targets/nosuch.yaml",
        "parity.workload has no command push",
        "no module parity.nosuch",
        "no marker windows",
        f"{ROOT / 'ci/targets/nosuch.yaml'}: cannot read: No such file or directory",
    ]


def test_github_workflow_shape() -> None:
    workflow = load(GITHUB)
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]  # type: ignore[index]  # YAML 1.1 reads a bare `on` as true
    assert [entry["cron"] for entry in triggers["schedule"]] == ["17 2 * * *"]
    jobs = workflow["jobs"]
    assert sorted(jobs) == ["build", "desktop", "hyperv", "linux"]
    assert any("parity.workload save" in s for s in scripts(jobs["build"]["steps"]))
    assert "actions/upload-artifact@v4" in [step.get("uses") for step in jobs["build"]["steps"]]
    for name, kind in TARGET_JOBS.items():
        job = jobs[name]
        assert job["needs"] == "build"
        steps = job["steps"]
        assert all(("uses" in step) != ("run" in step) for step in steps)
        assert "actions/download-artifact@v4" in [step.get("uses") for step in steps]
        assert any(f"-m pytest suites -m {kind} " in s for s in scripts(steps)), name
        publish = [step for step in steps if str(step.get("uses", "")).startswith("mikepenz/action-junit-report")]
        assert [(p["if"], p["with"]["report_paths"], p["with"]["check_name"]) for p in publish] == [
            ("always()", "reports/junit-*.xml", "${{ steps.title.outputs.title }}")
        ]
        assert any("parity.nightly title reports" in s for s in scripts(steps))
    assert {"self-hosted", "windows-server-insider"} <= set(jobs["hyperv"]["runs-on"])


def test_azure_pipeline_shape() -> None:
    pipeline = load(AZURE)
    assert [entry["cron"] for entry in pipeline["schedules"]] == ["17 2 * * *"]
    jobs = {job["job"]: job for job in pipeline["jobs"]}
    assert sorted(jobs) == ["Build", "DesktopMacOS", "DesktopWindows", "HyperV", "Linux"]
    assert any("parity.workload save" in s for s in scripts(jobs["Build"]["steps"]))
    assert [s.get("artifact") for s in jobs["Build"]["steps"] if "publish" in s] == ["workload"]
    for name, kind in AZURE_TARGET_JOBS.items():
        job = jobs[name]
        assert job["dependsOn"] == "Build"
        steps = job["steps"]
        assert [s.get("artifact") for s in steps if "download" in s] == ["workload"]
        assert any(f"-m pytest suites -m {kind} " in s for s in scripts(steps)), name
        publish = [s for s in steps if s.get("task") == "PublishTestResults@2"]
        assert [(p["condition"], p["inputs"]["testResultsFiles"], p["inputs"]["testRunTitle"]) for p in publish] == [
            ("always()", "reports/junit-*.xml", "$(parityTitle)")
        ]
        assert any("task.setvariable variable=parityTitle" in s for s in scripts(steps))
    assert jobs["HyperV"]["pool"]["name"] == "windows-server-insider"


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_command_exists_in_the_repository(path: Path) -> None:
    data = load(path)
    jobs = data["jobs"].values() if isinstance(data["jobs"], dict) else data["jobs"]
    commands = [s for job in jobs for s in scripts(job["steps"])]
    assert len(commands) >= 10
    assert [(c, p) for c in commands for p in problems_in(c)] == []


@pytest.mark.parametrize(("name", "kind"), [("linux", "linux"), ("desktop", "mobyvm"), ("hyperv", "hyperv")])
def test_nightly_target_files_declare_the_kind_their_job_selects(name: str, kind: str) -> None:
    assert [t.kind for t in matrix.load(ROOT / "ci" / "targets" / f"{name}.yaml").targets] == [kind]


def test_run_title_names_each_target_with_its_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, build in [("winsrv-insider", "26100.1"), ("linux", "6.1.0-28-amd64")]:
        (tmp_path / f"junit-{target}-{build}.xml").write_text(
            f'<testsuites><testsuite name="parity.{target}.{build}"><properties>'
            f'<property name="target" value="{target}"/><property name="build" value="{build}"/>'
            "</properties></testsuite></testsuites>"
        )
    (tmp_path / "junit.xml").write_text("<testsuites/>")  # pytest's own report is not per target
    assert nightly.main(["title", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "parity linux 6.1.0-28-amd64, winsrv-insider 26100.1\n"
    assert nightly.title(tmp_path / "empty") == "parity (no per-target report)"


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_valid_under_its_ci_systems_schema(path: Path) -> None:
    """check-jsonschema with the schema it vendors; a proxy that refuses every connection
    stands in for the network, so the check runs offline or fails."""
    assert importlib.util.find_spec("check_jsonschema"), (
        "check-jsonschema is a dev dependency: .venv/bin/pip install -c ci/constraints.txt -e '.[dev]'"
    )
    offline = dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), "http://127.0.0.1:9")
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *SCHEMAS[path], str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **offline, "NO_PROXY": "", "no_proxy": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("path", "old", "new", "error"),
    [
        (GITHUB, "runs-on:", "runs_on:", "'runs-on' is a required property"),
        (AZURE, "pool:", "pol:", "'pol' was unexpected"),
    ],
    ids=["github", "azure"],
)
def test_schema_check_rejects_a_broken_config(path: Path, old: str, new: str, error: str, tmp_path: Path) -> None:
    broken = tmp_path / path.name
    broken.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *SCHEMAS[path], str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, error in done.stdout) == (1, True), done.stdout + done.stderr


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_pytest_leg_names_its_targets_from_its_targets_file(path: Path) -> None:
    legs = pytest_legs(path)
    assert len(legs) >= 3
    assert [(job, problem) for job, command in legs for problem in target_problems(command)] == []


def test_target_checker_finds_a_leg_that_could_pass_untested() -> None:
    assert target_problems("python -m pytest suites -m hyperv --matrix=ci/targets/hyperv.yaml") == [
        "names no --target: an engine that does not answer skips every check, and the job passes"
    ]
    assert target_problems(
        "python -m pytest suites -m hyperv --target winsrv --target=linux --matrix=ci/targets/hyperv.yaml"
    ) == [
        "--target winsrv is not in ci/targets/hyperv.yaml",
        "--target linux is not in ci/targets/hyperv.yaml",
    ]
    assert target_problems("python -m pytest suites -m linux --target desktop --matrix=ci/targets/desktop.yaml") == [
        "--target desktop is of kind mobyvm, -m selects linux"
    ]
    assert target_problems("python -m pytest suites --target linux") == ["names 0 --matrix=FILE, not 1"]


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_leg_keeps_its_reports_as_an_artifact(path: Path) -> None:
    check = github_upload_problems if path == GITHUB else azure_publish_problems
    assert check(load(path)) == []


def test_no_azure_pool_depends_on_a_runtime_variable() -> None:
    """Azure picks an agent before any runtime variable has a value, so a matrix's `$(var)`
    (or `$[...]`) in a pool's name or demands stays literal (microsoft/azure-pipelines-yaml#303):
    only literals and compile-time `${{ }}` expressions."""
    found = []
    for name, job in jobs_of(load(AZURE)).items():
        pool = job.get("pool", {})
        pool = pool if isinstance(pool, dict) else {"name": pool}
        demands = pool.get("demands", [])
        entries = [pool.get("name", ""), *([demands] if isinstance(demands, str) else demands)]
        found += [f"{name}: {entry}" for entry in entries if re.search(r"\$[(\[]", str(entry))]
    assert found == []


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_script_states_its_shell(path: Path) -> None:
    assert [
        (name, script)
        for name, job in jobs_of(load(path)).items()
        for shell, script in shell_scripts(job)
        if shell == "unstated"
    ] == []


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_powershell_script_checks_each_native_exit_status(path: Path) -> None:
    found = [
        (name, problem)
        for name, job in jobs_of(load(path)).items()
        for shell, script in shell_scripts(job)
        if shell in ("pwsh", "powershell")
        for problem in powershell_problems(script)
    ]
    assert found == []


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure"])
def test_every_bash_script_stops_at_its_first_failure(path: Path) -> None:
    found = [
        (name, problem)
        for name, job in jobs_of(load(path)).items()
        for shell, script in shell_scripts(job)
        if shell == "bash"
        for problem in bash_problems(script)
    ]
    assert found == []


def test_script_checkers_find_what_lets_a_failure_pass() -> None:
    assert powershell_problems(
        "python -m venv .venv\n"
        "$py = if ($IsWindows) { 'a' } else { 'b' }\n"
        "& $py -m pip install .\n"
        f"{NATIVE_CHECK}\n"
        "$title = & $py -m parity.nightly title reports\n"
        'Write-Host "##vso[task.setvariable variable=t]$(& $py -m parity.nightly title reports)"\n'
        ".venv/Scripts/python -m pytest suites\n"
    ) == [
        "does not start with $ErrorActionPreference = 'Stop'",
        "exit status unchecked: python -m venv .venv",
        "exit status unchecked: $title = & $py -m parity.nightly title reports",
        'a subexpression hides its exit status: Write-Host "##vso[task.setvariable variable=t]$(& $py -m parity.nightly title reports)"',
        "exit status unchecked: .venv/Scripts/python -m pytest suites",
    ]
    assert bash_problems('echo "title=$(python -m parity.nightly title reports)" >> "$GITHUB_OUTPUT"') == [
        'a command substitution\'s exit status is lost: echo "title=$(python -m parity.nightly title reports)" >> "$GITHUB_OUTPUT"'
    ]
    assert bash_problems("python -m venv .venv\n.venv/bin/python -m pip install .") == [
        "several commands, and set -euo pipefail is not the first"
    ]
    assert bash_problems(".venv/bin/python -m parity.workload save $(Build.ArtifactStagingDirectory)/w.tar") == []


@pytest.mark.parametrize(("path", "job"), [(GITHUB, "linux"), (AZURE, "Linux")], ids=["github", "azure"])
def test_linux_title_step_names_the_run_and_its_artifact_by_build(path: Path, job: str, tmp_path: Path) -> None:
    """The Linux jobs' title script, run: the title, and the build as an artifact name may
    spell it (no spaces, commas or parentheses)."""
    [script] = [text for shell, text in shell_scripts(jobs_of(load(path))[job]) if "parity.nightly title" in text]
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    reports, outputs = tmp_path / "reports", tmp_path / "github-output"
    reports.mkdir()

    def run() -> list[str]:
        outputs.write_text("")
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env={**os.environ, "GITHUB_OUTPUT": str(outputs), "GITHUB_RUN_ATTEMPT": "2"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return (done.stdout + outputs.read_text()).splitlines()

    if path == GITHUB:
        assert run() == ["title=parity (no per-target report)", "artifact=reports-linux-no-per-target-report-attempt2"]
    else:
        assert run() == [
            "##vso[task.setvariable variable=parityTitle]parity (no per-target report)",
            "##vso[task.setvariable variable=parityBuild]no-per-target-report",
        ]
    for target, build in [("linux", "6.1.0-28-amd64"), ("winsrv-insider", "26100.1")]:
        (reports / f"junit-{target}-{build}.xml").write_text(
            f'<testsuites><testsuite name="parity.{target}.{build}"><properties>'
            f'<property name="target" value="{target}"/><property name="build" value="{build}"/>'
            "</properties></testsuite></testsuites>"
        )
    title = "parity linux 6.1.0-28-amd64, winsrv-insider 26100.1"
    if path == GITHUB:
        assert run() == [
            f"title={title}",
            "artifact=reports-linux-linux-6.1.0-28-amd64-winsrv-insider-26100.1-attempt2",
        ]
    else:
        assert run() == [
            f"##vso[task.setvariable variable=parityTitle]{title}",
            "##vso[task.setvariable variable=parityBuild]linux-6.1.0-28-amd64-winsrv-insider-26100.1",
        ]
