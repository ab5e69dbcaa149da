"""A result bundle: one run packed with what it was judged by, and its verification.

A run's JUnit files alone do not say which suite judged the targets, by which
requirements and which known divergences, nor whether a file changed since. A bundle
(a ``.tar.gz`` holding one folder) packs them together, as a Kubernetes conformance
submission packs its product file, log and JUnit::

    MANIFEST.json      format, version, created, the suite's commit, a summary per target
                       (kind, build, level, engine, workload image, divergences applied)
                       and the SHA-256 of every other file
    junit-*.xml        the per-target JUnit files of the run
    matrix.{json,html,md}  the conformance matrix of those files
    catalogue.json     every check function of the suite and its requirement (the checks
                       a run at a level must have run), read from the suite's source
    divergences.yaml   the known divergences the run was judged with
    matrix.yaml        the targets file, secrets replaced by REDACTED (comments dropped)
    pytest.log         the run's terminal output, when given

``verify`` refuses a bundle whose files do not match the manifest, a target that lacks a
required check, a required check without a passing verdict, and a known divergence that
no applied row of the bundle's own divergences.yaml explains. The hashes detect change,
not forgery: who can edit a file can rewrite the manifest, so publish or sign the
bundle's own SHA-256 (``bundle`` prints it).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from parity.certification import junit, properties, render
from parity.certification.junit import JUnitError
from parity.certification.matrix import build_matrix
from parity.certification.requirements import COVERS, Level, Requirement, RequirementError, catalogue, function_of
from parity.certification.results import Outcome, Result, TargetRun
from parity.config.divergences import XFAIL_PREFIX, Divergence, DivergenceError
from parity.config.divergences import load as load_divergences

FORMAT = "parity-bundle"
VERSION = 1
MANIFEST = "MANIFEST.json"
CATALOGUE = "catalogue.json"
DIVERGENCES = "divergences.yaml"
TARGETS = "matrix.yaml"
LOG = "pytest.log"
REDACTED = "REDACTED"
UNKNOWN = "unknown"
SHOWN = 10  # missing checks named in one line; the rest are counted
BLOCKING_SHOWN = 20  # blocking checks given a line each per target; the rest are counted
KEPT_OF_A_REASON = 1000  # plugins/reports.py keeps this much of an xfail reason


class BundleError(Exception):
    """A bundle that cannot be made or read at all; the message is one line."""


@dataclass(frozen=True)
class Problem:
    """One reason to refuse a bundle: about what (a target or a file), what is wrong, what to do."""

    subject: str
    what: str
    todo: str

    def line(self, number: int) -> str:
        return f"{number}. {self.subject}: {self.what}; {self.todo}"


@dataclass(frozen=True)
class Verification:
    manifest: dict[str, Any]
    problems: list[Problem]

    def summary(self) -> str:
        targets = (
            ", ".join(f"{item['target']} at {item['level']}" for item in self.manifest.get("targets", []))
            or "no targets"
        )
        suite = self.manifest.get("suite", {})
        commit = suite.get("commit", UNKNOWN)
        note = " (the suite's commit is unknown)" if commit == UNKNOWN else ""
        note += " (built from a checkout with uncommitted changes)" if suite.get("dirty") else ""
        files = len(self.manifest.get("files", {}))
        return f"verified: {files} files, suite {commit}{note}, {targets}"


# --- secrets out of matrix.yaml -----------------------------------------------------

# keys whose values are secret or say where secrets are (TLS key and certificate paths),
# today's and the ones a targets file may grow (auth, env)
_SECRET_KEY = re.compile(
    r"^(ca|cert|key|cert_path|tls_.*|auth|.*pass(word|wd)?|.*secret.*|.*token.*|.*credential.*|.*api_?key|env|environment)$",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<password>[^@/\s]*)@", re.IGNORECASE)
_ENV_ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>.*)$", re.DOTALL)
_SECRET_FLAG = re.compile(r"^--?(\w+[-_])*(pass(word|wd)?|secret|token|credentials?|api[-_]?key|auth)$", re.IGNORECASE)


def _blank(value: Any) -> Any:
    """Every value replaced, the shape (keys, list lengths) kept."""
    if isinstance(value, dict):
        return {key: _blank(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return REDACTED


def _text(value: str) -> str:
    return _USERINFO.sub(lambda found: f"{found['scheme']}{found['user']}:{REDACTED}@", value)


def _argv(items: list[Any]) -> list[Any]:
    """A command's arguments: NAME=value assignments (env) and --password-like flags
    keep their names, not their values; URLs lose their passwords."""
    kept: list[Any] = []
    secret_next = False
    for item in items:
        if not isinstance(item, str):
            kept.append(redact(item))
            secret_next = False
            continue
        flag, equals, _ = item.partition("=")
        if secret_next:
            kept.append(REDACTED)
        elif (found := _ENV_ASSIGNMENT.match(item)) is not None:
            kept.append(f"{found['name']}={REDACTED}")
        elif equals and _SECRET_FLAG.match(flag):
            kept.append(f"{flag}={REDACTED}")
        else:
            kept.append(_text(item))
        secret_next = not equals and _SECRET_FLAG.match(item) is not None
    return kept


def redact(data: Any) -> Any:
    """A parsed targets file without its secrets: values of secret keys, env values and
    secret flags of commands, and passwords in URLs are REDACTED; keys stay."""
    if isinstance(data, dict):
        return {
            key: _blank(value) if isinstance(key, str) and _SECRET_KEY.match(key) else redact(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return _argv(data)
    if isinstance(data, str):
        return _text(data)
    return data


def redacted_targets(text: str, label: str) -> str:
    """matrix.yaml as bundled: parsed, redacted and written again (comments, which may
    hold commented-out addresses and paths, do not survive)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BundleError(f"{label}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise BundleError(f"{label}: expected a mapping with a 'targets' list at the top")
    header = f"# {label} as the run used it, secrets replaced by {REDACTED} and comments dropped (parity bundle)\n"
    return header + yaml.safe_dump(redact(data), sort_keys=False, allow_unicode=True, width=120)


# --- making a bundle ----------------------------------------------------------------


def suite_commit(root: Path) -> dict[str, Any]:
    """The suite's commit and whether its checkout had changes; 'unknown' with why when
    ``root`` is not a git checkout (an unpacked source archive, no git installed)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        why = (
            exc.stderr.strip().splitlines()[0] if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else exc
        )
        return {"commit": UNKNOWN, "dirty": None, "note": f"{root}: git rev-parse HEAD failed ({why})"}
    return {"commit": head, "dirty": bool(changes)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _applied(run: TargetRun) -> list[str] | None:
    """The descriptions of the divergences.yaml rows the run applied to the target, or
    None when the property is not a JSON list."""
    try:
        found = json.loads(run.properties.get(properties.DIVERGENCES_APPLIED, "[]") or "[]")
    except json.JSONDecodeError:
        return None
    return [str(row) for row in found] if isinstance(found, list) else None


def _target_summary(run: TargetRun, file: str) -> dict[str, Any]:
    """What the manifest says of one target run, from its JUnit file's suite properties."""
    props = run.properties
    return {
        "target": run.target,
        "kind": run.kind,
        "build": run.build,
        "run": run.run,
        "file": file,
        "level": props.get(properties.LEVEL, ""),
        "workload_image": props.get(properties.WORKLOAD_IMAGE, ""),
        "engine": {name: value for name, value in props.items() if name.startswith(("engine.", "windows."))},
        "divergences_applied": _applied(run),
    }


def _runs(files: Iterable[Path]) -> list[tuple[TargetRun, str]]:
    """Each per-target run and its file's name; a file of another kind is an error."""
    found = []
    for path in files:
        for run in junit.read(path):
            if properties.TARGET not in run.properties:
                raise JUnitError(
                    f"{path}: not a per-target file (no 'target' property): bundle reports/ as the run wrote it"
                )
            found.append((run, path.name))
    return found


def _catalogue_json(root: Path) -> str:
    try:
        found = catalogue(root)
    except (OSError, SyntaxError, RequirementError) as exc:
        raise BundleError(f"{root}: cannot read the suite's catalogue: {exc}") from None
    if not found:
        raise BundleError(f"{root}: no check functions under suites/: give the suite's folder with --root")
    checks = {check: requirement.as_json() for check, requirement in sorted(found.items())}
    return json.dumps({"checks": checks}, indent=2) + "\n"


def create(
    reports: Path,
    out: Path,
    *,
    root: Path,
    targets_file: Path,
    divergences_file: Path,
    log: Path | None = None,
) -> dict[str, Any]:
    """Pack the run in ``reports`` into ``out`` (a .tar.gz); the manifest written."""
    files: dict[str, bytes] = {}
    junit_files = sorted(reports.glob("junit-*.xml")) if reports.is_dir() else []
    if not junit_files:
        raise BundleError(f"{reports}: no per-target JUnit files (junit-*.xml): give the folder the run wrote")
    for path in junit_files:
        files[path.name] = path.read_bytes()
    runs = _runs(junit_files)
    built = build_matrix([run for run, _ in runs])
    files["matrix.json"] = render.matrix_json(built).encode()
    files["matrix.html"] = render.matrix_html(built).encode()
    files["matrix.md"] = render.matrix_markdown(built).encode()
    files[CATALOGUE] = _catalogue_json(root).encode()
    try:
        load_divergences(divergences_file)  # as the run would have read it: a broken file is no evidence
        files[DIVERGENCES] = divergences_file.read_bytes()
        files[TARGETS] = redacted_targets(targets_file.read_text(encoding="utf-8"), targets_file.name).encode()
        if log is not None:
            files[LOG] = log.read_bytes()
    except DivergenceError as exc:
        raise BundleError(str(exc)) from None
    except OSError as exc:
        raise BundleError(f"{exc.filename}: cannot read: {exc.strerror}") from None
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "suite": suite_commit(root),
        "log": LOG if log is not None else None,
        "targets": [_target_summary(run, name) for run, name in runs],
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    _write_tar(out, _folder_name(out), files)
    return manifest


def _folder_name(out: Path) -> str:
    return out.name.removesuffix(".gz").removesuffix(".tar").removesuffix(".tgz") or "bundle"


def _write_tar(out: Path, folder: str, files: Mapping[str, bytes]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    now = int(datetime.now(UTC).timestamp())
    with tarfile.open(out, "w:gz") as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mode, info.mtime = len(files[name]), 0o644, now
            tar.addfile(info, io.BytesIO(files[name]))


# --- reading a bundle back ----------------------------------------------------------

_REPACK = "rebuild the bundle from the run's reports (python -m parity.certification bundle)"


def _members(path: Path) -> tuple[dict[str, bytes], list[Problem]]:
    """The files of a bundle (a .tar.gz with one folder, or that folder unpacked) by name,
    read without extracting anything: a member that is not a plain file in that folder
    (a link, a device, a path with '..') is a problem, not a file."""
    if path.is_dir():
        found: dict[str, bytes] = {}
        problems = []
        for item in sorted(path.rglob("*")):
            name = item.relative_to(path).as_posix()
            if item.is_symlink() or not (item.is_file() or item.is_dir()):
                problems.append(Problem(name, "not a regular file", f"remove it; {_REPACK}"))
            elif item.is_file():
                found[name] = item.read_bytes()
        return found, problems
    try:
        with tarfile.open(path, "r:gz") as tar:
            return _tar_members(tar, path)
    except (OSError, tarfile.TarError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(f"{path}: not a readable bundle (.tar.gz): {first}") from None


def _tar_members(tar: tarfile.TarFile, path: Path) -> tuple[dict[str, bytes], list[Problem]]:
    members = tar.getmembers()
    tops = {PurePosixPath(member.name).parts[0] for member in members if PurePosixPath(member.name).parts}
    if len(tops) != 1:
        raise BundleError(f"{path}: not a parity bundle: it should hold one folder, it holds {sorted(tops)}")
    found: dict[str, bytes] = {}
    problems = []
    for member in members:
        parts = PurePosixPath(member.name).parts[1:]
        if member.isdir():
            continue
        name = "/".join(parts)
        extracted = tar.extractfile(member) if member.isfile() else None
        if not parts or ".." in parts or PurePosixPath(member.name).is_absolute() or extracted is None:
            problems.append(Problem(member.name, "not a regular file of the bundle's folder", f"remove it; {_REPACK}"))
            continue
        found[name] = extracted.read()
    return found, problems


def _manifest(files: Mapping[str, bytes], path: Path) -> dict[str, Any]:
    if MANIFEST not in files:
        raise BundleError(f"{path}: not a parity bundle: no {MANIFEST}")
    try:
        manifest = json.loads(files[MANIFEST])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: {MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: {MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{path}: bundle format version {manifest.get('version')!r}; this parity reads {VERSION}")
    if not isinstance(manifest.get("files"), dict):
        raise BundleError(f"{path}: {MANIFEST} lists no files")
    return manifest


def _hash_problems(files: Mapping[str, bytes], listed: Mapping[str, str]) -> list[Problem]:
    problems = []
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(Problem(name, "listed in the manifest but missing from the bundle", _REPACK))
        elif sha256(files[name]) != expected:
            problems.append(
                Problem(
                    name,
                    f"its SHA-256 is {sha256(files[name])[:16]}..., the manifest says {str(expected)[:16]}...: "
                    "it changed after bundling",
                    "ask for the bundle as it was made, or " + _REPACK,
                )
            )
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        problems.append(Problem(name, "in the bundle but not in its manifest", f"remove it, or {_REPACK}"))
    return problems


# --- what a verified bundle must show -----------------------------------------------


def _names(checks: list[str]) -> str:
    shown = ", ".join(checks[:SHOWN])
    return shown + (f" and {len(checks) - SHOWN} more" if len(checks) > SHOWN else "")


def _missing(run: TargetRun, required: Mapping[str, Requirement]) -> Problem | None:
    checked = Level(run.properties[properties.LEVEL])
    have = {function_of(check) for check in run.results}
    missing = sorted(check for check, req in required.items() if req.level in COVERS[checked] and check not in have)
    if not missing:
        return None
    return Problem(
        run.target,
        f"{len(missing)} required {'check' if len(missing) == 1 else 'checks'} of level {checked} "
        f"{'has' if len(missing) == 1 else 'have'} no testcase: {_names(missing)}",
        f"rerun the suite at --level {checked.lower()} without deselecting checks (-k, -m, paths) and bundle that run",
    )


_ADVICE = {
    Outcome.FAIL: "fix the platform, or explain the difference with a divergences.yaml row (reason, public reference), and rerun",
    Outcome.ERROR: "could not be checked: fix what its set-up or clean-up needs and rerun",
    Outcome.FIXED: "the known divergence no longer holds: remove or narrow its divergences.yaml row and rerun",
    Outcome.NOT_RUN: "rerun with the target available and the check selected",
    Outcome.BROKEN: "fix the check (or the reference engine) and rerun: a broken check certifies no target",
}


def _blocking(run: TargetRun, check: str, result: Result) -> Problem:
    said = result.detail or result.reason
    return Problem(run.target, f"{check}: {result.outcome}{f' ({said})' if said else ''}", _ADVICE[result.outcome])


def _verdict_problems(run: TargetRun, required: Mapping[str, Requirement]) -> list[Problem]:
    """The required checks without a conforming verdict, as the matrix judges them; a
    broken check too (it fails on the reference, so it judged nothing, which the matrix
    leaves out of a verdict but a certificate cannot)."""
    matrix = build_matrix([run])
    [column] = matrix.columns
    verdict = matrix.verdict(column)
    blocking = set(verdict.blocking[verdict.checked])
    blocking |= {
        check
        for check, result in run.results.items()
        if result.outcome == Outcome.BROKEN
        and (req := required.get(function_of(check))) is not None
        and req.level in COVERS[verdict.checked]
    }
    problems = [_blocking(run, check, run.results[check]) for check in sorted(blocking)]
    if not run.results:
        problems.append(Problem(run.target, "no check came to a verdict", "rerun with the target available"))
    if len(problems) > BLOCKING_SHOWN:
        rest = len(problems) - BLOCKING_SHOWN
        problems = [
            *problems[:BLOCKING_SHOWN],
            Problem(run.target, f"{rest} more checks without a conforming verdict", "see matrix.html in the bundle"),
        ]
    return problems


def _as_written(result: Result) -> str:
    """The xfail reason a known divergence was read from, which junit.py split into its
    reason and reference."""
    return f"{XFAIL_PREFIX}{result.reason} ({result.reference})" if result.reference else result.reason


def _explains(row: Divergence, check: str, result: Result, applied: list[str]) -> bool:
    """The row a known divergence came from: same check function and xfail reason, and
    applied to the target by the run (the run matched the row's parameters itself; ids
    need not spell parameter values, so they are not matched again here)."""
    written, expected = _as_written(result), row.xfail_reason()
    same = written == expected or (len(written) == KEPT_OF_A_REASON and expected.startswith(written))
    return row.check == function_of(check) and same and row.describe() in applied


def _divergence_problems(run: TargetRun, rows: tuple[Divergence, ...]) -> list[Problem]:
    applied = _applied(run)
    if applied is None:
        return [Problem(run.target, f"property {properties.DIVERGENCES_APPLIED!r} is not a JSON list", _REPACK)]
    described = {row.describe() for row in rows}
    problems = [
        Problem(
            run.target,
            f"the run applied a row the bundle's divergences.yaml lacks: {row}",
            "bundle the divergences.yaml the run used (--divergences)",
        )
        for row in applied
        if row not in described
    ]
    for check, result in sorted(run.results.items()):
        if result.outcome not in (Outcome.DIVERGENCE, Outcome.UNOBSERVED):
            continue
        if any(_explains(row, check, result, applied) for row in rows):
            continue
        problems.append(
            Problem(
                run.target,
                f"unexplained divergence: {check}: {result.outcome} ({result.reason or 'no reason'}; "
                f"{result.reference or 'no reference'}) matches no row of the bundle's divergences.yaml "
                "that the run applied to this target",
                "bundle the divergences.yaml the run used, or fix the row and rerun",
            )
        )
    return problems


def _read_catalogue(files: Mapping[str, bytes]) -> dict[str, Requirement] | Problem:
    try:
        checks = json.loads(files[CATALOGUE])["checks"]
        return {check: Requirement.from_json(data) for check, data in checks.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Problem(CATALOGUE, f"not a catalogue of checks ({type(exc).__name__}: {exc})", _REPACK)


def _read_rows(folder: Path) -> tuple[Divergence, ...] | Problem:
    try:
        return load_divergences(folder / DIVERGENCES)
    except DivergenceError as exc:
        return Problem(DIVERGENCES, str(exc).removeprefix(f"{folder / DIVERGENCES}: "), _REPACK)


def _read_runs(folder: Path, names: Iterable[str]) -> tuple[list[tuple[TargetRun, str]], list[Problem]]:
    runs: list[tuple[TargetRun, str]] = []
    problems = []
    for name in names:
        try:
            runs.extend(_runs([folder / name]))
        except JUnitError as exc:
            problems.append(Problem(name, str(exc).removeprefix(f"{folder / name}: "), _REPACK))
    return runs, problems


def _run_problems(
    run: TargetRun, file: str, manifest: Mapping[str, Any], required: Mapping[str, Requirement] | None
) -> list[Problem]:
    if run.properties.get(properties.LEVEL) not in {level.value for level in Level}:
        return [
            Problem(
                run.target,
                f"its JUnit file {file} states no requirement level (property {properties.LEVEL!r})",
                "rerun with a parity that writes requirement levels and bundle that run",
            )
        ]
    problems = []
    if _target_summary(run, file) not in manifest.get("targets", []):
        problems.append(Problem(run.target, f"the manifest's summary differs from {file}", _REPACK))
    if required is not None:
        problems.extend(filter(None, [_missing(run, required)]))
        problems.extend(_verdict_problems(run, required))
    return problems


def verify(path: Path) -> Verification:
    """Every reason to refuse the bundle at ``path``; BundleError when it cannot be read."""
    files, problems = _members(path)
    manifest = _manifest(files, path)
    problems += _hash_problems(files, manifest["files"])
    with tempfile.TemporaryDirectory(prefix="parity-bundle-") as temporary:
        folder = Path(temporary)
        for name, data in files.items():
            if "/" not in name:  # flat, as made; anything deeper is already an unlisted file
                (folder / name).write_bytes(data)
        required = _read_catalogue(files) if CATALOGUE in files else None
        rows = _read_rows(folder) if DIVERGENCES in files else None
        for found in (required, rows):
            if isinstance(found, Problem):
                problems.append(found)
        runs, unreadable = _read_runs(folder, sorted(name for name in files if re.fullmatch(r"junit-.+\.xml", name)))
        problems += unreadable
        if not runs and not unreadable:
            problems.append(Problem(path.name, "no per-target JUnit files (junit-*.xml)", _REPACK))
        for run, file in runs:
            problems += _run_problems(run, file, manifest, required if isinstance(required, dict) else None)
            if isinstance(rows, tuple):
                problems += _divergence_problems(run, rows)
    return Verification(manifest, problems)
