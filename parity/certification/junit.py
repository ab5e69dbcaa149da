"""Reading parity's JUnit files back: one target's results per run, check by check.

Two kinds of file are read:

- the per-target files the reports plugin writes (``junit-<target>-<build>.xml``):
  one ``<testsuite>`` whose properties name the target, its kind, build and run;
- pytest's own ``--junitxml`` file of a parity run: one suite for every target, whose
  ``parity.targets`` property (written by the plugin) maps target names to kinds, so each
  test's target can be told from its id.

Each test becomes a :class:`Result` of one :class:`Outcome`; a check is a test without
its target, e.g. ``suites/volumes/test_sharing.py::test_mode[bind]``. Files are also
checked against ``xunit2.xsd`` (the JUnit dialect Jenkins and Azure DevOps read).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import xmlschema

from parity.certification import properties
from parity.certification.results import NOT_APPLICABLE, UNOBSERVED_MARK, Outcome, Result, TargetRun
from parity.config.divergences import parse_xfail_reason

SCHEMA = Path(__file__).with_name("xunit2.xsd")
MAX_NAME = 511  # test names stay under 512 characters: Azure DevOps stores no longer
XPASS_STRICT = "[XPASS(strict)] "


class JUnitError(Exception):
    """A file that is not a usable JUnit file; the message is one line."""


def area(check: str) -> str:
    """'volumes' for 'suites/volumes/...'; otherwise the check's folder."""
    path = check.split("::", 1)[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "suites":
        return parts[1]
    return "/".join(parts[:-1]) or "(top level)"


def _path_of(classname: str) -> tuple[str, list[str]]:
    """'suites.volumes.test_x.TestY' -> ('suites/volumes/test_x.py', ['TestY'])."""
    parts = classname.split(".")
    module_end = next((i for i, part in enumerate(parts) if part.startswith("test")), len(parts) - 1)
    return "/".join(parts[: module_end + 1]) + ".py", parts[module_end + 1 :]


def strip_target(name: str, target: str) -> str | None:
    """The test name without the target's id ('test_x[local-bind]' -> 'test_x[bind]'),
    or None when the test does not run against that target."""
    base, bracket, rest = name.partition("[")
    if not bracket or not rest.endswith("]"):
        return None
    ids = rest[:-1]
    if ids == target:
        return base
    if ids.startswith(f"{target}-"):
        others = ids[len(target) + 1 :]
    elif ids.endswith(f"-{target}"):
        others = ids[: -len(target) - 1]
    elif f"-{target}-" in ids:
        others = ids.replace(f"-{target}-", "-", 1)
    else:
        return None
    return f"{base}[{others}]"


def check_name(classname: str, name: str) -> str:
    path, classes = _path_of(classname)
    return "::".join([path, *classes, name])


def _failed(element: ET.Element) -> Result:
    message = element.get("message", "") or (element.text or "").strip()
    if message.startswith(XPASS_STRICT):
        text = message.removeprefix(XPASS_STRICT)
        reason, reference = parse_xfail_reason(text) or (text, "")
        return Result(Outcome.FIXED, "passed: the known divergence no longer holds", reason, reference)
    return Result(Outcome.ERROR if element.tag == "error" else Outcome.FAIL, message)


def _skipped(element: ET.Element) -> Result:
    message = element.get("message", "")
    text = message.removeprefix("xfail: ")
    parsed = parse_xfail_reason(text)
    if parsed is not None:
        return Result(Outcome.DIVERGENCE, "", *parsed)
    if element.get("type") == "pytest.xfail" or message.startswith("xfail: "):
        return Result(Outcome.DIVERGENCE, "", text)  # an xfail of another origin: no reference
    if message.startswith(NOT_APPLICABLE):
        return Result(Outcome.NOT_APPLICABLE, message.removeprefix(NOT_APPLICABLE))
    return Result(Outcome.NOT_RUN, message)


def result_of(case: ET.Element) -> Result:
    """The outcome of one <testcase>, in the forms the plugin and pytest's junitxml write."""
    failed = next((child for child in case if child.tag in ("failure", "error")), None)
    if failed is not None:
        return _failed(failed)
    skipped = case.find("skipped")
    if skipped is not None:
        return _skipped(skipped)
    output = case.findtext("system-out") or ""
    if output.startswith(UNOBSERVED_MARK):
        text = output.removeprefix(UNOBSERVED_MARK).splitlines()[0]
        reason, reference = parse_xfail_reason(text) or (text, "")
        return Result(Outcome.UNOBSERVED, "passed: the documented divergence was not observed", reason, reference)
    return Result(Outcome.PASS)


def _properties(suite: ET.Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for holder in suite.findall("properties"):
        for prop in holder.findall("property"):
            found[prop.get("name", "")] = prop.get("value", "")
    return found


def _parse(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read: {exc.strerror}") from None
    except ET.ParseError as exc:
        raise JUnitError(f"{path}: not a JUnit file: not XML ({exc})") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"{path}: not a JUnit file: the root element is <{root.tag}>, not <testsuites>")
    return root


def _suites(root: ET.Element) -> list[ET.Element]:
    return [root] if root.tag == "testsuite" else root.findall("testsuite")


def _mark_broken(run: TargetRun, path: Path) -> None:
    """Checks that failed on the run's reference judge no target: broken on each."""
    text = run.properties.get(properties.BROKEN)
    if not text:
        return
    try:
        broken = json.loads(text)
    except json.JSONDecodeError:
        raise JUnitError(f"{path}: property {properties.BROKEN!r} is not JSON") from None
    reference = run.properties.get(properties.REFERENCE, "the reference")
    for check, message in broken.items():
        run.results[check] = Result(Outcome.BROKEN, f"fails on the reference {reference}: {message}")


def read(path: Path) -> list[TargetRun]:
    """Every target's results in one JUnit file (one for a per-target file)."""
    root = _parse(path)
    runs: dict[str, TargetRun] = {}
    for suite in _suites(root):
        props = _properties(suite)
        timestamp = suite.get("timestamp", "")
        if properties.TARGET in props:  # a per-target file written by plugins/reports.py
            run = runs.setdefault(
                props[properties.TARGET],
                TargetRun(
                    props[properties.TARGET],
                    props.get(properties.KIND, ""),
                    props.get(properties.BUILD, ""),
                    props.get(properties.RUN, ""),
                    path,
                    timestamp,
                    props,
                ),
            )
            for case in suite.iter("testcase"):
                name = strip_target(case.get("name", ""), run.target)
                if name is not None:
                    run.results[check_name(case.get("classname", ""), name)] = result_of(case)
            _mark_broken(run, path)
            continue
        if properties.TARGETS not in props:
            raise JUnitError(
                f"{path}: not a parity JUnit file: suite {suite.get('name', '')!r} has neither a 'target' nor a "
                f"{properties.TARGETS!r} property"
            )
        try:
            kinds = json.loads(props[properties.TARGETS])
        except json.JSONDecodeError:
            raise JUnitError(f"{path}: property {properties.TARGETS!r} is not JSON") from None
        longest_first = sorted(kinds, key=len, reverse=True)
        for case in suite.iter("testcase"):
            for target in longest_first:
                name = strip_target(case.get("name", ""), target)
                if name is None:
                    continue
                run = runs.setdefault(
                    target,
                    TargetRun(
                        target, str(kinds[target]), "", props.get(properties.RUN_OF_ALL, ""), path, timestamp, props
                    ),
                )
                run.results[check_name(case.get("classname", ""), name)] = result_of(case)
                break
    return list(runs.values())


def junit_files(folder: Path) -> list[Path]:
    """The *.xml files of a folder, sorted; one-line errors for a missing or empty one."""
    if not folder.exists():
        raise JUnitError(f"{folder}: no such file or folder")
    if not folder.is_dir():
        return [folder]
    files = sorted(path for path in folder.glob("*.xml") if path.is_file())
    if not files:
        raise JUnitError(f"{folder}: no JUnit files (*.xml) in this folder")
    return files


def read_all(paths: list[Path]) -> list[TargetRun]:
    """Every target run in these files and folders. A run present both in a per-target
    file and in pytest's own file of the same run is taken once, from the former."""
    runs: list[TargetRun] = []
    for given in paths:
        for path in junit_files(given):
            runs.extend(read(path))
    per_target = {(run.target, run.run) for run in runs if properties.TARGET in run.properties}
    return [run for run in runs if properties.TARGET in run.properties or (run.target, run.run) not in per_target]


@cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def problems(path: Path) -> list[str]:
    """Why a JUnit file would not be read as xunit2 (by Jenkins, Azure DevOps), or []."""
    root = _parse(path)
    found = [
        f"{path}: {error.path}: {error.reason}"
        for error in _schema().iter_errors(str(path))
        if isinstance(error, xmlschema.XMLSchemaValidationError)
    ]
    for case in root.iter("testcase"):
        full = f"{case.get('classname', '')}.{case.get('name', '')}"
        if len(full) > MAX_NAME:
            found.append(f"{path}: test {full[:80]}...: {len(full)} characters (the limit is {MAX_NAME})")
    return found
