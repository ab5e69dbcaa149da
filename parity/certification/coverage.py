"""What the catalogue covers, measured: the Engine API endpoints and container create
options a run's requests exercised, the mount types and storage kinds they asked for, and
the syscalls the probe makes, each against a published reference.

References (data files next to this module, each naming its source in its header):

- ``engine-api-v1.41.txt``: the endpoints, ``ContainerConfig`` and ``HostConfig``
  properties, mount types and mount options of the Engine API v1.41 swagger (Docker 20.10,
  the last API with LCOW), with the fields the swagger itself calls Windows-only or
  deprecated;
- ``syscalls-x86_64.txt``: the x86_64 syscall table of Debian's kernel headers.

The run's side comes from parity/engine/guard.py's ``RequestRecording`` (every request of
every guarded client), reduced to a ``Usage`` of plain counters: that is what an xdist
worker sends to the controller, and usages add up. The probe's side is read from its C
source: the libc calls named after syscalls (and ``syscall(SYS_x)``) of each op, through
the probe's own helpers. The tables are generated; only the reasons for notable gaps
(``WHY``) are kept by hand.

JSON shape (``version`` changes when a key changes meaning or goes away)::

    {"format": "parity-coverage", "version": 1,
     "areas": [{"area": "endpoints", "title", "reference",
                "covered": [{"item", "count", "detail"}],
                "not_covered": [{"item", "why"}],
                "outside": [{"item", "count", "detail"}]}]}

``count`` is how many requests (or create bodies, or probe ops) used the item; ``outside``
lists what the run used that the reference does not name (e.g. a newer API's endpoint).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from parity.engine.guard import RequestRecording

HERE = Path(__file__).resolve().parent
ENGINE_API = HERE / "engine-api-v1.41.txt"
SYSCALLS = HERE / "syscalls-x86_64.txt"
PROBE = HERE.parents[1] / "probe"

# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineApi:
    """What the Engine API swagger offers, as far as coverage measures it."""

    version: str
    endpoints: tuple[str, ...]  # "GET /containers/{id}/json"
    config: Mapping[str, str]  # ContainerConfig property -> the swagger's note ("Windows only", ...)
    host_config: Mapping[str, str]  # HostConfig property (Resources included) -> note
    mount_types: tuple[str, ...]  # the Mount Type enum
    mount_options: tuple[str, ...]  # Mount properties and their options' properties: "BindOptions.Propagation"


_METHODS = ("get", "head", "post", "put", "delete")
_NOTES = (("(Windows only)", "Windows only"), ("**Deprecated**", "deprecated"))


def _properties(definitions: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A definition's properties, through allOf and $ref."""
    schema = definitions[name]
    found: dict[str, Any] = {}
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            found.update(_properties(definitions, part["$ref"].rsplit("/", 1)[1]))
        else:
            found.update(part.get("properties") or {})
    return found


def _note(prop: Mapping[str, Any]) -> str:
    description = str(prop.get("description") or "")
    return next((note for marker, note in _NOTES if marker in description), "")


def engine_api_from_swagger(document: Mapping[str, Any]) -> EngineApi:
    """The reference of an Engine API swagger document (as yaml.safe_load reads it)."""
    definitions = document["definitions"]
    endpoints = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in _METHODS
    ]
    mount = definitions["Mount"]["properties"]
    options = [
        f"{name}.{option}" if option else name
        for name, prop in mount.items()
        if name not in ("Target", "Source", "Type")
        for option in (list(prop.get("properties") or {}) or [""])
    ]
    return EngineApi(
        version=str(document["basePath"]).removeprefix("/v"),
        endpoints=tuple(sorted(endpoints, key=_endpoint_order)),
        config={name: _note(prop) for name, prop in _properties(definitions, "ContainerConfig").items()},
        host_config={name: _note(prop) for name, prop in _properties(definitions, "HostConfig").items()},
        mount_types=tuple(definitions["MountType"]["enum"]),
        mount_options=tuple(options),
    )


def _endpoint_order(endpoint: str) -> tuple[str, str]:
    method, path = endpoint.split(" ", 1)
    return path, method


def engine_api_text(api: EngineApi, source: str) -> str:
    """The data file of a reference: '== section' lines, then one item a line
    ('item<TAB>note' where the swagger notes something)."""
    lines = [f"# source: {source}", f"== version {api.version}", "== endpoints", *api.endpoints]
    for section, fields in (("Config", api.config), ("HostConfig", api.host_config)):
        lines += [f"== {section}", *(f"{name}\t{note}" if note else name for name, note in fields.items())]
    lines += ["== MountType", *api.mount_types, "== MountOptions", *api.mount_options]
    return "\n".join(lines) + "\n"


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("== "):
            current = sections.setdefault(line[3:].strip(), [])
        else:
            current.append(line)
    return sections


def read_engine_api(text: str) -> EngineApi:
    sections = _sections(text)
    version = next(name.split(" ", 1)[1] for name in sections if name.startswith("version "))

    def notes(section: str) -> dict[str, str]:
        found = {}
        for line in sections[section]:
            name, _, note = line.partition("\t")
            found[name] = note
        return found

    return EngineApi(
        version=version,
        endpoints=tuple(sections["endpoints"]),
        config=notes("Config"),
        host_config=notes("HostConfig"),
        mount_types=tuple(sections["MountType"]),
        mount_options=tuple(sections["MountOptions"]),
    )


def syscalls_from_header(text: str) -> dict[str, int]:
    """Syscall name -> number, from an asm/unistd_64.h ('#define __NR_read 0')."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^#define __NR_(\w+)\s+(\d+)\s*$", text, re.MULTILINE)}


def syscalls_text(table: Mapping[str, int], source: str) -> str:
    return f"# source: {source}\n" + "".join(f"{number} {name}\n" for name, number in table.items())


def read_syscalls(text: str) -> dict[str, int]:
    table = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            number, name = line.split()
            table[name] = int(number)
    return table


# ---------------------------------------------------------------------------
# The probe's syscalls, from its C source
# ---------------------------------------------------------------------------

# libc calls of the probe that enter the kernel under another name on x86_64 (musl)
LIBC_ENTRY = {
    "exit": "exit_group",
    "_exit": "exit_group",
    "klogctl": "syslog",
    "waitpid": "wait4",
    "sigaction": "rt_sigaction",
    "signal": "rt_sigaction",
    "sigprocmask": "rt_sigprocmask",
    "raise": "tkill",
    "execv": "execve",
    "mkfifo": "mknod",
    "opendir": "open",
    "closedir": "close",
    "readdir": "getdents64",
    "pread": "pread64",
    "pwrite": "pwrite64",
    "recv": "recvfrom",
    "send": "sendto",
    "gethostname": "uname",
    "getdomainname": "uname",
}
_KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "_Alignas"}


def _strip_c(text: str) -> str:
    """C source without comments, and with string and character literals emptied."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(?:\\.|[^'\\\n])+'", "0", text)


def c_functions(text: str) -> dict[str, str]:
    """Function name -> body of each function defined in a C file (OPFN/SCFN included)."""
    code = _strip_c(text)
    functions: dict[str, str] = {}
    depth, start, header_from = 0, 0, 0
    name = None
    for index, char in enumerate(code):
        if char == "{":
            if depth == 0:
                header = code[header_from:index]
                macro = re.search(r"\b(?:OPFN|SCFN)\((\w+)\)\s*$", header)
                plain = re.search(r"\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*$", header)
                name = macro.group(1) if macro else plain.group(1) if plain else None
                start = index
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                if name is not None:
                    functions[name] = code[start : index + 1]
                name, header_from = None, index + 1
        elif char == ";" and depth == 0:
            header_from = index + 1
    return functions


def _table_rows(text: str, table: str, prefix: str) -> dict[str, str]:
    """'name' -> handler of the rows of a C table ``<table>[] = { { "name", ..., handler, ...}, ... }``."""
    code = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    block = re.search(rf"\b{table}\[\]\s*=\s*\{{(.*?)\n\}};", code, flags=re.DOTALL)
    if block is None:
        raise ValueError(f"no table {table}[] in the probe's source")
    return {
        row.group(1): row.group(2)
        for row in re.finditer(rf'\{{\s*"([^"]+)"[^{{}}]*?\b({prefix}\w+)\b[^{{}}]*\}}', block.group(1))
    }


def probe_syscalls(sources: Mapping[str, str], syscalls: Iterable[str]) -> dict[str, set[str]]:
    """Syscall -> the probe ops that make it ("stat", "syscall mount-tmpfs" for a row of the
    syscall op's own table), from the probe's C files (file name -> text)."""
    known = set(syscalls)
    functions: dict[str, str] = {}
    for text in sources.values():
        functions.update(c_functions(text))
    direct: dict[str, set[str]] = {}
    for name, body in functions.items():
        calls = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", body)) - _KEYWORDS
        direct[name] = calls | {f"SYS_{s}" for s in re.findall(r"\bSYS_(\w+)", body)}

    def reached(function: str) -> set[str]:
        seen, todo, made = set(), [function], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            for call in direct.get(current, ()):
                if call in functions and call not in known and call not in LIBC_ENTRY:
                    todo.append(call)
                elif call.startswith("SYS_") and call[4:] in known:
                    made.add(call[4:])
                elif call in LIBC_ENTRY:
                    made.add(LIBC_ENTRY[call])
                elif call in known:
                    made.add(call)
        return made

    text = "\n".join(sources.values())
    users: dict[str, set[str]] = defaultdict(set)
    for op, handler in _table_rows(text, "ops", "op_").items():
        for syscall in reached(handler):
            users[syscall].add(op)
    for row, handler in _table_rows(text, "sc_table", "sc_").items():
        for syscall in reached(handler):
            users[syscall].add(f"syscall {row}")
    return dict(users)


def read_probe(folder: Path = PROBE) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.c"))}


# ---------------------------------------------------------------------------
# The run's usage, from a request recording
# ---------------------------------------------------------------------------

# what docker-py sends on every create whatever the caller asked: not an exercised option
CLIENT_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "Config": {"AttachStdout": True, "AttachStderr": True},
    "HostConfig": {"NetworkMode": "default"},
}
# the other ways a create body mounts something, besides HostConfig.Mounts
LEGACY_MOUNTS = (
    "bind (HostConfig.Binds)",
    "volume (HostConfig.Binds)",
    "tmpfs (HostConfig.Tmpfs)",
    "anonymous volume (Config.Volumes)",
    "volumes of another container (HostConfig.VolumesFrom)",
)
CONTAINER_LAYER = "container layer (image and writable layer)"
STORAGE_KINDS = (
    CONTAINER_LAYER,
    "volume, local driver",
    "volume, local driver, type=tmpfs",
    "volume, local driver, type=nfs",
    "volume, local driver, type=cifs",
    "volume, local driver, type=none (bind-backed)",
)
_VERSION = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")
_ID = re.compile(r"(?<=/)[0-9a-f]{12,64}(?=/|$)")


def _is_set(value: Any) -> bool:
    return value is not None and value is not False and value not in ("", 0, [], {})


def path_of(url: str) -> str:
    """The Engine API path of a request url: no scheme, host, version prefix or query."""
    return _VERSION.sub("", unquote(urlsplit(url).path), count=1)


class Templates:
    """Maps concrete requests to the reference's endpoint templates: a literal segment
    beats a parameter ("/containers/create" is not "/containers/{id}"), and a parameter
    spans several segments only when nothing else matches (image names hold slashes)."""

    def __init__(self, endpoints: Iterable[str]) -> None:
        self._patterns: list[tuple[str, str, re.Pattern[str], re.Pattern[str], int]] = []
        for endpoint in endpoints:
            method, template = endpoint.split(" ", 1)
            parts = re.split(r"(\{[^}]+\})", template)
            one = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            many = "".join(".+" if p.startswith("{") else re.escape(p) for p in parts)
            literal = sum(1 for segment in template.split("/") if segment and not segment.startswith("{"))
            self._patterns.append((method, endpoint, re.compile(one + "$"), re.compile(many + "$"), literal))

    def match(self, method: str, path: str) -> str | None:
        """The endpoint ("GET /containers/{id}/json") of a request, None when the reference has none."""
        for strict in (True, False):
            found = [
                (literal, endpoint)
                for m, endpoint, one, many, literal in self._patterns
                if m == method and (one if strict else many).match(path)
            ]
            if found:
                return max(found)[1]
        return None


@dataclass
class Usage:
    """What a run used, as counters (JSON-able, and they add up across xdist workers)."""

    endpoints: Counter[str] = field(default_factory=Counter)  # "GET /containers/{id}/json"
    unmatched: Counter[str] = field(default_factory=Counter)  # requests the reference has no endpoint for
    config: Counter[str] = field(default_factory=Counter)  # create bodies setting each Config key
    host_config: Counter[str] = field(default_factory=Counter)
    mounts: Counter[str] = field(default_factory=Counter)  # "bind (Mounts)", "tmpfs (HostConfig.Tmpfs)"
    mount_options: Counter[str] = field(default_factory=Counter)  # "ReadOnly", "BindOptions.Propagation"
    storage: Counter[str] = field(default_factory=Counter)  # STORAGE_KINDS and any other seen

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in self.as_json()})

    def as_json(self) -> dict[str, dict[str, int]]:
        return {name: dict(sorted(counter.items())) for name, counter in vars(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, int]]) -> Usage:
        return cls(**{name: Counter(data.get(name) or {}) for name in cls().as_json()})


def usage_of(recording: RequestRecording, api: EngineApi) -> Usage:
    """Reduce a recording to counters (run once per process, at the end)."""
    usage = Usage()
    templates = Templates(api.endpoints)
    for (method, url), count in recording.requests.items():
        path = path_of(url)
        endpoint = templates.match(method, path)
        if endpoint is None:
            usage.unmatched[f"{method} {_ID.sub('{id}', path)}"] += count
        else:
            usage.endpoints[endpoint] += count
    for url, body in recording.bodies:
        if not isinstance(body, Mapping):
            continue
        path = path_of(url)
        if path == "/containers/create":
            _count_create(usage, body)
        elif path == "/volumes/create":
            usage.storage[_volume_kind(body)] += 1
    return usage


def _count_create(usage: Usage, body: Mapping[str, Any]) -> None:
    host_config: Mapping[str, Any] = body.get("HostConfig") or {}
    for section, fields, counter in (
        ("Config", body, usage.config),
        ("HostConfig", host_config, usage.host_config),
    ):
        defaults = CLIENT_DEFAULTS[section]
        for name, value in fields.items():
            if name not in ("HostConfig", "NetworkingConfig") and _is_set(value) and defaults.get(name) != value:
                counter[name] += 1
    if body.get("Image"):
        usage.storage[CONTAINER_LAYER] += 1
    for mount in host_config.get("Mounts") or ():
        usage.mounts[f"{mount.get('Type') or 'volume'} (HostConfig.Mounts)"] += 1
        for name, value in mount.items():
            if name in ("Target", "Source", "Type") or not _is_set(value):
                continue
            if isinstance(value, Mapping):
                usage.mount_options.update(f"{name}.{option}" for option, v in value.items() if _is_set(v))
            elif not (name == "Consistency" and value == "default"):
                usage.mount_options[name] += 1
    for bind in host_config.get("Binds") or ():
        source = str(bind).split(":", 1)[0]
        host_path = source.startswith(("/", "\\")) or re.match(r"^[A-Za-z]$", source) is not None  # C:\\...
        usage.mounts["bind (HostConfig.Binds)" if host_path else "volume (HostConfig.Binds)"] += 1
    usage.mounts["tmpfs (HostConfig.Tmpfs)"] += len(host_config.get("Tmpfs") or {})
    usage.mounts["anonymous volume (Config.Volumes)"] += len(body.get("Volumes") or {})
    usage.mounts["volumes of another container (HostConfig.VolumesFrom)"] += len(host_config.get("VolumesFrom") or ())
    usage.mounts = +usage.mounts  # drop the zeros


def _volume_kind(body: Mapping[str, Any]) -> str:
    driver = str(body.get("Driver") or "local")
    kind = str((body.get("DriverOpts") or {}).get("type") or "")
    if driver != "local":
        return f"volume, {driver} driver"
    if kind == "none":
        return "volume, local driver, type=none (bind-backed)"
    return f"volume, local driver, type={kind}" if kind else "volume, local driver"


# ---------------------------------------------------------------------------
# Areas: covered, not covered and why
# ---------------------------------------------------------------------------

_SWARM = "swarm mode: parity certifies one engine's containers, not a cluster"
_REGISTRY = "registries: the run is offline, and the workload image is loaded"
# Reasons for notable gaps, by area: an item, or an endpoint's first path segment
WHY: Mapping[str, Mapping[str, str]] = {
    "endpoints": {
        "/swarm": _SWARM,
        "/nodes": _SWARM,
        "/services": _SWARM,
        "/tasks": _SWARM,
        "/secrets": _SWARM,
        "/configs": _SWARM,
        "/plugins": "engine plugins: no target installs any",
        "/build": "images are loaded (POST /images/load), not built: every target runs the same bytes",
        "/session": "BuildKit sessions: nothing is built",
        "/auth": _REGISTRY,
        "/distribution": _REGISTRY,
        "POST /images/create": _REGISTRY,
        "POST /images/{name}/push": _REGISTRY,
        "GET /images/search": _REGISTRY,
        "GET /containers/{id}/attach/ws": "websocket attach: docker-py attaches over the hijacked HTTP stream",
    },
    "config": {
        **dict.fromkeys(
            CLIENT_DEFAULTS["Config"], "docker-py sends it on every create (its default): no check sets it"
        ),
        "Shell": "image build setting (SHELL): a created container does not use it",
        "OnBuild": "image build setting (ONBUILD): a created container does not use it",
    },
    "host_config": {
        **dict.fromkeys(
            CLIENT_DEFAULTS["HostConfig"], "docker-py sends it on every create (its default): no check sets it"
        ),
        "Links": "legacy links: checks connect containers with user-defined networks",
        "DeviceRequests": "device requests (GPUs): no target has a device to request",
        "VolumeDriver": "volumes are created on their own (POST /volumes/create), then mounted",
    },
    "mounts": {"npipe (HostConfig.Mounts)": "a Windows host's named pipe: nothing a Linux container can use"},
    "storage": {
        "volume, local driver, type=nfs": "needs an NFS server that every target's engine reaches",
        "volume, local driver, type=cifs": "needs an SMB server that every target's engine reaches",
    },
    "syscalls": dict.fromkeys(
        (
            "afs_syscall",
            "create_module",
            "get_kernel_syms",
            "getpmsg",
            "nfsservctl",
            "putpmsg",
            "query_module",
            "security",
            "tuxcall",
            "vserver",
        ),
        "not implemented by Linux on x86_64 (ENOSYS on every kernel)",
    ),
}


@dataclass(frozen=True)
class Row:
    item: str
    count: int = 0
    detail: str = ""  # e.g. the probe ops making a syscall
    why: str = ""  # for an item not covered: the recorded reason, "" when none


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    reference: str
    covered: tuple[Row, ...]
    not_covered: tuple[Row, ...]
    outside: tuple[Row, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.key,
            "title": self.title,
            "reference": self.reference,
            "covered": [{"item": r.item, "count": r.count, "detail": r.detail} for r in self.covered],
            "not_covered": [{"item": r.item, "why": r.why} for r in self.not_covered],
            "outside": [{"item": r.item, "count": r.count, "detail": r.detail} for r in self.outside],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Area:
        return cls(
            data["area"],
            data["title"],
            data["reference"],
            covered=tuple(Row(r["item"], r["count"], r["detail"]) for r in data["covered"]),
            not_covered=tuple(Row(r["item"], why=r["why"]) for r in data["not_covered"]),
            outside=tuple(Row(r["item"], r["count"], r["detail"]) for r in data["outside"]),
        )


def _why(area: str, item: str, note: str = "") -> str:
    reasons = WHY.get(area, {})
    if item in reasons:
        return reasons[item]
    path = item.split(" ", 1)[-1]
    first = "/" + path.lstrip("/").split("/", 1)[0]
    if first in reasons:
        return reasons[first]
    return {"Windows only": "Windows containers only (the API says so)", "deprecated": "deprecated by the API"}.get(
        note, ""
    )


def _area(
    key: str,
    title: str,
    reference: str,
    universe: Mapping[str, str] | Sequence[str],
    *,
    used: Mapping[str, int],
    details: Mapping[str, str] | None = None,
    unknown: Mapping[str, int] | None = None,
) -> Area:
    """An area's rows: each item of ``universe`` (item -> the reference's note) covered when
    ``used`` counts it; what ``used`` or ``unknown`` counts beyond it is outside."""
    notes = universe if isinstance(universe, Mapping) else dict.fromkeys(universe, "")
    details = details or {}
    beyond = {item: count for item, count in used.items() if item not in notes and count}
    return Area(
        key,
        title,
        reference,
        covered=tuple(Row(item, used[item], details.get(item, "")) for item in notes if used.get(item)),
        not_covered=tuple(Row(item, why=_why(key, item, note)) for item, note in notes.items() if not used.get(item)),
        outside=tuple(Row(item, count) for item, count in sorted({**beyond, **(unknown or {})}.items())),
    )


def coverage_areas(
    usage: Usage, api: EngineApi, syscalls: Mapping[str, int], probe: Mapping[str, set[str]]
) -> list[Area]:
    """Every area's table, from a run's usage and the references."""
    swagger = f"Engine API v{api.version} swagger"
    return [
        _area(
            "endpoints",
            f"Engine API endpoints (v{api.version})",
            swagger,
            api.endpoints,
            used=usage.endpoints,
            unknown=usage.unmatched,
        ),
        _area(
            "config",
            "Container create options: Config",
            f"{swagger}, ContainerConfig",
            api.config,
            used=usage.config,
        ),
        _area(
            "host_config",
            "Container create options: HostConfig",
            f"{swagger}, HostConfig (with Resources)",
            api.host_config,
            used=usage.host_config,
        ),
        _area(
            "mounts",
            "Mount types",
            f"{swagger}, MountType; and the create body's other mount fields",
            [f"{kind} (HostConfig.Mounts)" for kind in api.mount_types] + list(LEGACY_MOUNTS),
            used=usage.mounts,
        ),
        _area("mount_options", "Mount options", f"{swagger}, Mount", api.mount_options, used=usage.mount_options),
        _area(
            "storage",
            "Storage kinds",
            "where a container's files live: its layers, and the local volume driver's kinds",
            STORAGE_KINDS,
            used=usage.storage,
        ),
        _area(
            "syscalls",
            "Syscalls the probe makes (x86_64, read from its source)",
            "the x86_64 syscall table of Linux's headers; the probe's C source",
            dict.fromkeys(sorted(syscalls, key=lambda name: syscalls[name]), ""),
            used={name: len(ops) for name, ops in probe.items()},
            details={name: ", ".join(sorted(ops)) for name, ops in probe.items()},
        ),
    ]


def measured_areas(usage: Usage) -> list[Area]:
    """The areas of a run's usage against the stored references and the probe's source."""
    syscalls = read_syscalls(SYSCALLS.read_text(encoding="utf-8"))
    return coverage_areas(
        usage, read_engine_api(ENGINE_API.read_text(encoding="utf-8")), syscalls, probe_syscalls(read_probe(), syscalls)
    )


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def summary(area: Area) -> str:
    total = len(area.covered) + len(area.not_covered)
    return f"{len(area.covered)} of {total}"


def _by_reason(rows: Iterable[Row]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        grouped[row.why].append(row.item)
    # reasons first, in the order they came; unexplained gaps last
    return dict(sorted(grouped.items(), key=lambda pair: pair[0] == ""))


NO_REASON = "not exercised yet (no reason recorded)"


def _short(detail: str, most: int = 4) -> str:
    """A long detail list cut to its first few: 'a, b, c, d and 65 more'."""
    parts = detail.split(", ") if detail else []
    return detail if len(parts) <= most else f"{', '.join(parts[:most])} and {len(parts) - most} more"


def _code(item: str) -> str:
    return f"`{item}`"


def _items(items: Sequence[str], most: int | None) -> str:
    shown = items if most is None or len(items) <= most else items[:most]
    more = f" and {len(items) - len(shown)} more" if len(shown) < len(items) else ""
    return ", ".join(map(_code, shown)) + more


def render_markdown(areas: Sequence[Area], most: int | None = None) -> str:
    """The summary table, then each area's covered items and its gaps grouped by reason;
    ``most`` cuts each list to that many items (for the README)."""
    lines = [
        "| area | covered | not covered | used outside the reference |",
        "|---|---|---|---|",
        *(f"| {area.title} | {summary(area)} | {len(area.not_covered)} | {len(area.outside)} |" for area in areas),
    ]
    for area in areas:
        lines += ["", f"### {area.title}", "", f"Reference: {area.reference}. Covered {summary(area)}.", ""]
        if area.covered:
            shown = area.covered if most is None else area.covered[:most]
            used = ", ".join(f"{_code(r.item)} ({_short(r.detail) or r.count})" for r in shown)
            used += f" and {len(area.covered) - len(shown)} more" if len(shown) < len(area.covered) else ""
            lines += [f"Covered: {used}.", ""]
        if area.not_covered:
            lines += ["| not covered | why |", "|---|---|"]
            for why, items in _by_reason(area.not_covered).items():
                lines.append(f"| {_items(items, most)} | {why or NO_REASON} |")
            lines.append("")
        if area.outside:
            outside = ", ".join(f"{_code(r.item)} ({r.count})" for r in area.outside)
            lines += [f"Used, not in the reference: {outside}.", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #999;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#eee}code{font-size:90%}.covered{background:#e6f4e6}
.gap{background:#fbeaea}"""


def render_html(areas: Sequence[Area]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>parity coverage</title>',
        f"<style>{_CSS}</style></head><body><h1>parity coverage</h1>",
        "<table><tr><th>area</th><th>covered</th><th>not covered</th><th>used outside the reference</th></tr>",
        *(
            f'<tr><td><a href="#{area.key}">{escape(area.title)}</a></td><td>{summary(area)}</td>'
            f"<td>{len(area.not_covered)}</td><td>{len(area.outside)}</td></tr>"
            for area in areas
        ),
        "</table>",
    ]
    for area in areas:
        parts += [
            f'<h2 id="{area.key}">{escape(area.title)}</h2>',
            f"<p>Reference: {escape(area.reference)}. Covered {summary(area)}.</p>",
            "<table><tr><th>item</th><th>status</th><th>uses</th><th>detail or why not</th></tr>",
        ]
        parts += [
            f'<tr class="covered"><td><code>{escape(r.item)}</code></td><td>✓ covered</td><td>{r.count}</td>'
            f"<td>{escape(r.detail)}</td></tr>"
            for r in area.covered
        ]
        parts += [
            f'<tr class="gap"><td><code>{escape(r.item)}</code></td><td>○ not covered</td><td>0</td>'
            f"<td>{escape(r.why or NO_REASON)}</td></tr>"
            for r in area.not_covered
        ]
        parts += [
            f"<tr><td><code>{escape(r.item)}</code></td><td>+ outside the reference</td><td>{r.count}</td>"
            f"<td>{escape(r.detail)}</td></tr>"
            for r in area.outside
        ]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_json(areas: Sequence[Area]) -> str:
    return json.dumps({"format": "parity-coverage", "version": 1, "areas": [a.as_json() for a in areas]}, indent=1)


def write_coverage(folder: Path, areas: Sequence[Area]) -> list[Path]:
    """coverage.json, coverage.md and coverage.html in ``folder``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("json", render_json(areas)), ("md", render_markdown(areas)), ("html", render_html(areas))):
        path = folder / f"coverage.{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# ---------------------------------------------------------------------------
# Regenerating the reference data files
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m parity.certification.coverage``:

    - ``markdown reports/coverage.json [--most N]`` prints a run's tables as Markdown, each
      list cut to N items (the README's section);
    - ``engine-api FILE --source TEXT`` and ``syscalls FILE --source TEXT`` print the data
      file of a swagger yaml or of an asm/unistd_64.h, with its source in the header.
    """
    parser = argparse.ArgumentParser(prog="python -m parity.certification.coverage")
    parser.add_argument("kind", choices=["markdown", "engine-api", "syscalls"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--source", help="where the file came from, for the header line")
    parser.add_argument("--most", type=int, default=None, help="markdown: at most this many items a list")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    if args.kind == "markdown":
        sys.stdout.write(render_markdown([Area.from_json(area) for area in json.loads(text)["areas"]], args.most))
        return 0
    if not args.source:
        parser.error(f"{args.kind} needs --source: where the file came from")
    if args.kind == "syscalls":
        sys.stdout.write(syscalls_text(syscalls_from_header(text), args.source))
    else:
        sys.stdout.write(engine_api_text(engine_api_from_swagger(yaml.safe_load(text)), args.source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
