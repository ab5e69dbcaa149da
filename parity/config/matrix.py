"""Load and validate ``matrix.yaml``: the targets a run may cover.

Every error is reported as one line naming the file, the target and the key, e.g.
``matrix.yaml: target 'local': key 'enigne': unknown key``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from parity import kinds
from parity.platform.capabilities import CAPABILITIES


def _known_kind(kind: str) -> str:
    if kind not in kinds.KINDS:
        # reported as pydantic reports a Literal, naming the known kinds
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": kinds.choices()})
    return kind


KindName = Annotated[str, AfterValidator(_known_kind)]  # the name of a kind of parity.kinds
URL_SCHEMES = ("unix", "tcp", "ssh", "npipe")


class MatrixError(Exception):
    """A matrix file that cannot be used; the message is one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsSpec(_Strict):
    """TLS material as the Docker CLI reads it: a cert folder and/or explicit files."""

    cert_path: Path | None = None  # folder with ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH)
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: bool = True  # verify the engine's certificate against ca (DOCKER_TLS_VERIFY)

    def files(self) -> dict[str, Path | None]:
        """ca/cert/key paths, explicit files taking precedence over cert_path."""
        folder = self.cert_path
        return {
            "ca": self.ca or (folder / "ca.pem" if folder else None),
            "cert": self.cert or (folder / "cert.pem" if folder else None),
            "key": self.key or (folder / "key.pem" if folder else None),
        }


class EngineSpec(_Strict):
    """How to reach a target's engine. Neither url nor context: what the Docker CLI would
    use (DOCKER_HOST, then the current context, then the default socket)."""

    url: str | None = None
    context: str | None = None
    tls: TlsSpec | None = None
    timeout: int = Field(default=60, ge=1, le=3600)  # seconds, for every engine call

    @field_validator("url")
    @classmethod
    def _url_is_an_engine_address(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in URL_SCHEMES:
            raise ValueError(f"{url!r}: scheme must be one of {', '.join(URL_SCHEMES)}")
        if parts.scheme in ("unix", "npipe"):
            if not parts.path:
                raise ValueError(f"{url!r}: needs a path, e.g. unix:///var/run/docker.sock")
        else:
            try:
                port = parts.port
            except ValueError as exc:
                raise ValueError(f"{url!r}: {exc}") from None
            if not parts.hostname:
                raise ValueError(f"{url!r}: needs a host")
            if parts.scheme == "tcp" and port is None:
                raise ValueError(f"{url!r}: needs a port, e.g. tcp://127.0.0.1:2376")
        return url

    @model_validator(mode="after")
    def _one_way_to_reach(self) -> EngineSpec:
        if self.url and self.context:
            raise ValueError("give either url or context, not both")
        if self.tls and not (self.url or "").startswith("tcp://"):
            raise ValueError("tls applies to tcp:// urls only")
        return self


class PathMapping(_Strict):
    """A folder of the machine running pytest and where the engine sees it."""

    host: str
    engine: str


class LaunchSpec(_Strict):
    """Commands that bring a target's engine up and take it down again (e.g. a VM), run
    in ``folder`` (default: the matrix file's folder). A target with ``launch`` is opt-in:
    a run covers it when it is named with --target or its kind is selected with -m."""

    # exits 0 once the engine it brought up answers, 3 (launch.ALREADY_UP) when the engine
    # was up already: the run then leaves it up
    start: tuple[str, ...] = Field(min_length=1)
    stop: tuple[str, ...] = Field(min_length=1)
    timeout: int = Field(default=600, ge=1, le=3600)  # seconds for either command
    folder: Path | None = None


class CapabilityDeclaration(_Strict):
    """A target's own word on a capability: ``true`` (it has it, whatever its kind's
    default), or ``{supported: false, because: <why>}``: a capability taken away needs a
    reason, shown in every not-applicable it causes, and cheap ones are probed
    (suites/platform/test_declarations.py) so that a wrong declaration fails the run."""

    supported: bool
    because: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_values(cls, value: Any) -> Any:
        if value is True:
            return {"supported": True}
        if value is False:
            raise ValueError("false needs a reason: write {supported: false, because: <why this target lacks it>}")
        return value

    @model_validator(mode="after")
    def _reason_when_missing(self) -> CapabilityDeclaration:
        if not self.supported and len(self.because.strip()) < 10:
            raise ValueError("supported: false needs because: <why this target lacks it> (at least 10 characters)")
        return self


_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")


class TargetSpec(_Strict):
    name: str
    kind: KindName
    engine: EngineSpec = EngineSpec()
    platform: str | None = None  # os/arch[/variant]; default: the engine's own
    isolation: Literal["default", "process", "hyperv"] | None = None
    paths: tuple[PathMapping, ...] = ()
    capabilities: dict[str, CapabilityDeclaration] = Field(default_factory=dict)
    launch: LaunchSpec | None = None

    @field_validator("name")
    @classmethod
    def _name_is_an_id(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"{name!r}: use lowercase letters, digits, '.', '_' and '-'")
        return name

    @field_validator("platform")
    @classmethod
    def _platform_shape(cls, platform: str | None) -> str | None:
        if platform is not None and not _PLATFORM.match(platform):
            raise ValueError(f"{platform!r}: expected os/arch[/variant], e.g. linux/amd64")
        return platform

    @model_validator(mode="after")
    def _isolation_the_kind_accepts(self) -> TargetSpec:
        refused = kinds.get(self.kind).refused_isolation.get(self.isolation or "")
        if refused:
            raise ValueError(f"isolation {self.isolation!r} does not fit kind {self.kind}: {refused}")
        return self

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, declared: dict[str, CapabilityDeclaration]) -> dict[str, CapabilityDeclaration]:
        for name in declared:
            if name not in CAPABILITIES:
                known = ", ".join(sorted(CAPABILITIES))
                raise ValueError(f"unknown capability {name!r} (known: {known})")
        return declared

    def capability_set(self) -> dict[str, bool]:
        declared = {name: declaration.supported for name, declaration in self.capabilities.items()}
        return kinds.get(self.kind).capabilities(declared)

    def why_missing(self, capability: str) -> str:
        """Why this target lacks a capability, for a not-applicable: what it promises, and
        the target's own reason, else its kind's."""
        declared = self.capabilities.get(capability)
        why = declared.because if declared is not None else kinds.get(self.kind).missing.get(capability, "")
        said = f"target {self.name} does not declare {capability} ({CAPABILITIES[capability]})"
        return f"{said}: {why}" if why else said

    def engine_path(self, host_path: str) -> str:
        """Where the engine sees ``host_path``: the longest matching mapping wins."""
        best: PathMapping | None = None
        for mapping in self.paths:
            prefix = mapping.host.rstrip("/")
            covers = host_path == prefix or host_path.startswith(prefix + "/") or prefix == ""
            if covers and (best is None or len(prefix) > len(best.host.rstrip("/"))):
                best = mapping
        if best is None:
            return host_path
        rest = host_path[len(best.host.rstrip("/")) :]
        if best.engine.endswith("\\") or "\\" in best.engine:  # a Windows folder
            return best.engine.rstrip("\\") + rest.replace("/", "\\")
        return best.engine.rstrip("/") + rest


class TargetMatrix(_Strict):
    targets: tuple[TargetSpec, ...] = Field(min_length=1)
    # the target whose behaviour is Linux's own: a check that fails there is broken, not
    # a divergence of the others; default: the first target of the reference kind (linux)
    reference: str | None = None

    @model_validator(mode="after")
    def _reference_is_a_target(self) -> TargetMatrix:
        if self.reference is not None and self.reference not in self.names():
            raise ValueError(f"reference {self.reference!r} is not a target (targets: {', '.join(self.names())})")
        return self

    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    def reference_target(self) -> str | None:
        """The reference target's name: declared, else the first of the reference kind."""
        if self.reference is not None:
            return self.reference
        return next((t.name for t in self.targets if kinds.get(t.kind).reference), None)

    def select(
        self, names: Sequence[str], kind_selected: Callable[[str], bool] = lambda kind: False
    ) -> list[TargetSpec]:
        """The named targets in the order given; when none is named, every target except
        launched ones (opt-in) whose kind ``kind_selected`` does not ask for."""
        if not names:
            return [t for t in self.targets if t.launch is None or kind_selected(t.kind)]
        by_name = {t.name: t for t in self.targets}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise MatrixError(f"unknown target {unknown[0]!r}; known targets: {', '.join(self.names())}")
        return [by_name[n] for n in dict.fromkeys(names)]


def load(path: Path) -> TargetMatrix:
    """Read and validate a matrix file; raise MatrixError with one line on any problem."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixError(f"{label}: cannot read: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise MatrixError(f"{label}: not valid YAML{at}: {problem}") from None
    if not isinstance(raw, dict):
        raise MatrixError(f"{label}: expected a mapping with a 'targets' list at the top")
    try:
        matrix = TargetMatrix.model_validate(raw)
    except ValidationError as exc:
        raise MatrixError(f"{label}: {_describe(exc, raw)}") from None
    _check_unique_names(label, matrix)
    return _resolve_launch_folders(_resolve_tls_files(label, matrix, path.parent), path.parent)


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    """One line for the first problem: which target, which key, what is wrong."""
    # An invalid entry also empties its list ("at least 1 item"): keep root causes only.
    all_errors = exc.errors()
    errors = [
        e
        for e in all_errors
        if not any(o is not e and tuple(o["loc"][: len(e["loc"])]) == tuple(e["loc"]) for o in all_errors)
    ]
    first = errors[0]
    loc = list(first["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        entries = raw.get("targets") or []
        entry = entries[loc[1]] if loc[1] < len(entries) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        where.append(f"target {name!r}" if isinstance(name, str) else f"target #{loc[1] + 1}")
        loc = loc[2:]
    keys = [str(part) for part in loc if not isinstance(part, int)]
    # pydantic names union members and validator steps in loc; drop what is not a key
    keys = [k for k in keys if not k.startswith(("function-", "literal[", "list[", "tuple["))]
    if keys:
        where.append(f"key {'.'.join(keys)!r}")
    kind = first["type"]
    if kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "missing":
        what = "required key is missing"
    elif kind == "literal_error":
        what = f"{first['input']!r} is not one of {first['ctx']['expected']}"
    else:
        what = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return ": ".join([*where, what]) + more


def _check_unique_names(label: str, matrix: TargetMatrix) -> None:
    seen: set[str] = set()
    for target in matrix.targets:
        if target.name in seen:
            raise MatrixError(f"{label}: target {target.name!r}: key 'name': duplicate target name")
        seen.add(target.name)


def _resolve_tls_files(label: str, matrix: TargetMatrix, base: Path) -> TargetMatrix:
    """Make TLS paths absolute (relative ones are relative to the matrix file) and check
    that each file exists, so a typo is reported before any engine is contacted."""
    targets = []
    for target in matrix.targets:
        tls = target.engine.tls
        if tls is None:
            targets.append(target)
            continue
        resolved: dict[str, Path | None] = {}
        for role, given in tls.files().items():
            path = base / given.expanduser() if given is not None else None  # absolute stays absolute
            if path is not None and not path.is_file():
                raise MatrixError(
                    f"{label}: target {target.name!r}: key 'engine.tls.{role}': file {str(path)!r} does not exist"
                )
            resolved[role] = path
        engine = target.engine.model_copy(update={"tls": tls.model_copy(update={**resolved, "cert_path": None})})
        targets.append(target.model_copy(update={"engine": engine}))
    return matrix.model_copy(update={"targets": tuple(targets)})


def _resolve_launch_folders(matrix: TargetMatrix, base: Path) -> TargetMatrix:
    """Launch commands run in their folder, relative to the matrix file like TLS files."""
    targets = [
        t.model_copy(update={"launch": t.launch.model_copy(update={"folder": base / (t.launch.folder or ".")})})
        if t.launch
        else t
        for t in matrix.targets
    ]
    return matrix.model_copy(update={"targets": tuple(targets)})
