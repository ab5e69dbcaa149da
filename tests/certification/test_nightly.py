"""The nightly CI configs (ci/nightly-github.yml, ci/nightly-azure.yml): they parse, have
the shape the matrix needs, and every command they run exists in this repository."""

from __future__ import annotations

import importlib
import re
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
    assert sorted(jobs) == ["Build", "Desktop", "HyperV", "Linux"]
    assert any("parity.workload save" in s for s in scripts(jobs["Build"]["steps"]))
    assert [s.get("artifact") for s in jobs["Build"]["steps"] if "publish" in s] == ["workload"]
    for name, kind in {"Linux": "linux", "Desktop": "mobyvm", "HyperV": "hyperv"}.items():
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
