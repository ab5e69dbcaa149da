"""The Windows daemon's rules, as moby v20.10.24 applies them to Linux containers on Windows (LCOW).

Every rule names the moby file and function it models; every refusal carries the daemon's own
message and the HTTP status its error maps to (moby v20.10.24 api/server/httpstatus/status.go
FromError: errdefs.InvalidParameter -> 400, errdefs.NotFound -> 404, an error of no errdefs class
(a plain fmt.Errorf / errors.New) -> 500).

The rules are pure: what they need to know about the engine behind (does an image exist, does a
host folder exist, how many CPUs) they ask a ``Lookup``.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from standins.windows_lcow.settings import API_VERSION, MIN_API_VERSION, Settings

JSON = dict[str, Any]


@dataclass(eq=False)
class Refusal(Exception):
    """The daemon's answer to a request it refuses: status and exact message."""

    status: int
    message: str
    source: str  # the moby file and function whose rule this is

    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode() + b"\n"


def _bad_request(message: str, source: str) -> Refusal:  # errdefs.InvalidParameter
    return Refusal(400, message, source)


def _system(message: str, source: str) -> Refusal:  # no errdefs class: 500
    return Refusal(500, message, source)


@dataclass
class Lookup:
    """What the rules ask about the engine behind; the relay answers from the backend."""

    image_exists: Callable[[str], bool] = lambda _ref: True
    ncpu: Callable[[], int] = lambda: os.cpu_count() or 1
    # (exists, is_dir) of a path of this machine
    stat: Callable[[str], tuple[bool, bool]] = lambda path: (os.path.exists(path), os.path.isdir(path))


# --- API version ---------------------------------------------------------------------------------


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


def check_api_version(version: str | None) -> None:
    """moby v20.10.24 api/server/middleware/version.go VersionMiddleware.WrapHandler (400,
    versionUnsupportedError is InvalidParameter); MinVersion 1.24 is api/common_windows.go."""
    if not version:
        return
    source = "api/server/middleware/version.go VersionMiddleware.WrapHandler"
    if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
        raise _bad_request(
            f"client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, "
            "please upgrade your client to a newer version",
            source,
        )
    if _version_tuple(version) > _version_tuple(API_VERSION):
        raise _bad_request(
            f"client version {version} is too new. Maximum supported API version is {API_VERSION}", source
        )


# --- isolation (api/types/container/hostconfig.go Isolation.Is*, hostconfig_windows.go IsValid) ------


def _isolation(hc: JSON) -> str:
    return str(hc.get("Isolation") or "")


def _is_default(iso: str) -> bool:
    return iso.lower() in ("", "default")


def _is_hyperv(iso: str) -> bool:
    return iso.lower() == "hyperv"


def _is_process(iso: str) -> bool:
    return iso.lower() == "process"


def _runs_as_hyperv(hc: JSON) -> bool:
    """daemon/daemon_windows.go runAsHyperVContainer: the request's isolation, or the daemon's
    default, which on this host is hyperv (dockerd --exec-opt isolation=hyperv; /info Isolation)."""
    iso = _isolation(hc)
    return True if _is_default(iso) else _is_hyperv(iso)


# --- mounts: volume/mounts/windows_parser.go and lcow_parser.go ----------------------------------------

# The expressions of volume/mounts/windows_parser.go, for Python's re. Go's RE2 never backtracks;
# Python's re does, so the repeated path segments use a possessive '++' (a segment is a maximal
# run of non-separators either way, so what matches is the same) to keep failures linear.
_RX_HOST_DIR = r'(?:\\\\\?\\)?[a-z]:[\\/](?:[^\\/:*?"<>|\r\n]++[\\/]?)*'
_RX_NAME = r'[^\\/:*?"<>|\r\n]+'
_RX_RESERVED_NAMES = r"(con)|(prn)|(nul)|(aux)|(com[1-9])|(lpt[1-9])"
_RX_PIPE = r'[/\\]{2}.[/\\]pipe[/\\][^:*?"<>|\r\n]+'
_RX_SOURCE = r"((?P<source>((" + _RX_HOST_DIR + r")|(" + _RX_NAME + r")|(" + _RX_PIPE + r"))):)?"
_RX_DESTINATION = r'(?P<destination>((?:\\\\\?\\)?([a-z]):((?:[\\/][^\\/:*?"<>\r\n]++)*[\\/]?))|(' + _RX_PIPE + r"))"
_RX_LCOW_DESTINATION = r'(?P<destination>/(?:[^\\/:*?"<>\r\n]++[/]?)*)'
_RX_MODE = r"(:(?P<mode>ro|rw))?"  # Go: (?i)ro|rw; the spec is lower-cased before matching anyway

_SPEC_LCOW = re.compile("^" + _RX_SOURCE + _RX_LCOW_DESTINATION + _RX_MODE + "$")
_PARSER = "volume/mounts/windows_parser.go"


def _invalid_spec(raw: str) -> str:  # volume/mounts/mounts.go errInvalidSpec
    return f"invalid volume specification: '{raw}'"


def _go_quote(text: str) -> str:  # Go's %q for the printable ASCII the API carries
    return json.dumps(text)


def _mount_config_error(mount_type: str, err: str) -> str:  # volume/mounts/errors.go errMountConfig.Error
    return f"invalid mount config for type {_go_quote(mount_type)}: {err}"


def _full_match(expr: str, text: str) -> bool:
    return re.fullmatch(expr, text.lower()) is not None


def _detect_mount_type(path: str) -> str:
    """volume/mounts/windows_parser.go windowsDetectMountType."""
    if path.startswith("\\\\.\\pipe\\"):
        return "npipe"
    if re.fullmatch(_RX_HOST_DIR, path):
        return "bind"
    return "volume"


def _validate_volume_name(name: str) -> str | None:
    """volume/mounts/windows_parser.go windowsParser.ValidateVolumeName."""
    if not re.fullmatch(_RX_NAME, name):
        return "invalid volume name"
    if re.fullmatch(_RX_RESERVED_NAMES, name):
        return f"volume name {_go_quote(name)} cannot be a reserved word for Windows filenames"
    return None


def _windows_stat(settings: Settings, lookup: Lookup, windows_path: str) -> tuple[bool, bool]:
    """The Windows daemon stats the bind source on its host (windows_parser.go
    defaultFileInfoProvider.fileInfo); here that host folder is this machine's, through --share."""
    linux = settings.to_linux(windows_path)
    if linux is None:
        return (False, False)
    return lookup.stat(linux)


def validate_mount_config(  # noqa: PLR0911 (the Go function's early returns, in its order)
    mnt: JSON, settings: Settings, lookup: Lookup, stat_as: str | None = None
) -> str | None:
    """volume/mounts/windows_parser.go windowsParser.validateMountConfigReg with rxLCOWDestination
    and lcow_parser.go lcowSpecificValidators, as lcowParser.ValidateMountConfig runs it: the
    error text, or None. ``stat_as``: the source in the client's case, for this machine's
    case-sensitive file system (Windows' is not)."""
    mtype = str(mnt.get("Type") or "")
    target = str(mnt.get("Target") or "")
    source = str(mnt.get("Source") or "")

    def err(text: str) -> str:
        return _mount_config_error(mtype, text)

    # lcow_parser.go lcowSpecificValidators
    if target and posixpath.normpath(target) == "/":
        return err("invalid specification: destination can't be '/'")  # mounts/parser.go ErrVolumeTargetIsRoot
    if mtype == "npipe":
        return err("Linux containers on Windows do not support named pipe mounts")
    if not target:
        return err("field Target must not be empty")
    if not _full_match(_RX_LCOW_DESTINATION, target):
        return err(f"invalid mount path: '{target}'")  # windowsValidateRegex
    if mtype == "bind":
        if not source:
            return err("field Source must not be empty")
        bind_options = mnt.get("BindOptions") or None
        if bind_options and bind_options.get("Propagation"):
            return err(f"invalid propagation mode: {bind_options['Propagation']}")
        if mnt.get("VolumeOptions") is not None:
            return err("field VolumeOptions must not be specified")
        if not _full_match(_RX_DESTINATION, source):  # windowsValidateAbsolute
            return err(f"invalid mount path: '{source}' mount path must be absolute")
        exists, is_dir = _windows_stat(settings, lookup, stat_as or source)
        if not exists:
            return err(f"bind source path does not exist: {source}")  # errBindSourceDoesNotExist
        if not is_dir:
            return err("source path must be a directory")
        return None
    if mtype == "volume":
        if mnt.get("BindOptions") is not None:
            return err("field BindOptions must not be specified")
        if not source and mnt.get("ReadOnly"):
            return err("must not set ReadOnly mode when using anonymous volumes")
        if source:
            bad = _validate_volume_name(source)
            if bad:
                return err(bad)
        return None
    return err("mount type unknown")  # tmpfs among others: Windows knows bind, volume, npipe


@dataclass(frozen=True)
class BindSpec:
    """A HostConfig.Binds entry as lcowParser.ParseMountRaw understands it."""

    raw: str
    mount_type: str  # bind | volume
    source: str  # lower-cased, backslashed, as the daemon keeps it ("" for an anonymous volume)
    source_as_given: str  # the same characters in the case the client sent
    destination: str  # lower-cased: windowsSplitRawSpec lower-cases the whole spec
    read_only: bool


def parse_bind(raw: str, settings: Settings, lookup: Lookup) -> BindSpec:
    """volume/mounts/windows_parser.go windowsParser.parseMountRaw with rxLCOWDestination (as
    lcowParser.ParseMountRaw calls it), through parseMountSpec/validateMountConfigReg. Raises the
    Refusal the create answers with: registerMountPoints returns the plain error (500)."""
    source_fn = f"{_PARSER} windowsParser.parseMountRaw (daemon/volumes.go registerMountPoints)"
    match = _SPEC_LCOW.match(raw.lower())  # windowsSplitRawSpec matches strings.ToLower(raw)
    if not match:
        raise _system(_invalid_spec(raw), source_fn)
    parts = [g for g in (match.group("source"), match.group("destination"), match.group("mode")) if g]
    source = mode = ""
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        if parts[1] in ("ro", "rw"):  # destination + mode is not a valid volume
            raise _system(_invalid_spec(raw), source_fn)
        source, target = parts[0].replace("/", "\\"), parts[1]
    else:
        source, target, mode = parts[0].replace("/", "\\"), parts[1], parts[2]
    mount_type = _detect_mount_type(source)
    # the client's own spelling of the source, for this machine's case-sensitive file system (the
    # source group starts the spec; lower-casing keeps the length of the ASCII paths the API carries)
    group = match.group("source") or ""
    given = (raw[: len(group)] if len(raw.lower()) == len(raw) else group).replace("/", "\\")
    spec: JSON = {"Type": mount_type, "Source": source, "Target": target, "ReadOnly": mode == "ro"}
    problem = validate_mount_config(spec, settings, lookup, stat_as=given)
    if problem:
        raise _system(f"{_invalid_spec(raw)}: {problem}", source_fn)
    if len(source) > 3 and source.endswith("\\"):  # parseMountSpec trims a trailing '\'
        source, given = source[:-1], given[:-1]
    if len(target) > 3 and target.endswith("\\"):
        target = target[:-1]
    return BindSpec(raw, mount_type, source, given, target, mode == "ro")


# --- create: the decoder's rules (runconfig/config.go decodeContainerConfig) ---------------------------

_HOSTCONFIG = "runconfig/hostconfig_windows.go"


def check_decode(config: JSON, hc: JSON) -> None:
    """runconfig/config.go decodeContainerConfig: the Windows validators run while decoding the
    request; their errors are plain (fmt.Errorf), so the create answers 500."""
    network_mode = str(hc.get("NetworkMode") or "")
    # runconfig/hostconfig_windows.go validateNetMode (after validateNetContainerMode, which the
    # Linux engine behind applies alike)
    if network_mode.startswith("container:") and _is_hyperv(_isolation(hc)):
        raise _system(
            "Using the network stack of another container is not supported while using Hyper-V Containers",
            f"{_HOSTCONFIG} validateNetMode",
        )
    iso = _isolation(hc)
    if not (_is_default(iso) or _is_hyperv(iso) or _is_process(iso)):
        raise _system(
            f"Invalid isolation: {_go_quote(iso)}. Windows supports 'default', 'process', or 'hyperv'",
            f"{_HOSTCONFIG} validateIsolation",
        )
    if hc.get("CpuRealtimePeriod"):
        raise _system("Windows does not support CPU real-time period", f"{_HOSTCONFIG} validateResources")
    if hc.get("CpuRealtimeRuntime"):
        raise _system("Windows does not support CPU real-time runtime", f"{_HOSTCONFIG} validateResources")
    if hc.get("Privileged"):
        raise _system("Windows does not support privileged mode", f"{_HOSTCONFIG} validatePrivileged")
    if hc.get("ReadonlyRootfs"):
        raise _system(
            "Windows does not support root filesystem in read-only mode", f"{_HOSTCONFIG} validateReadonlyRootfs"
        )


# --- create and update: daemon/daemon_windows.go verifyPlatformContainerResources ---------------------

_WINDOWS_MAX_CPU_SHARES = 10000  # daemon/daemon_windows.go windowsMaxCPUShares
_WINDOWS_MAX_CPU_PERCENT = 100  # daemon/daemon_windows.go windowsMaxCPUPercent


def _int(hc: JSON, key: str) -> int:
    value = hc.get(key)
    return int(value) if isinstance(value, int | float) else 0


def verify_resources(hc: JSON, ncpu: int) -> None:
    """daemon/daemon_windows.go verifyPlatformContainerResources (via verifyPlatformContainerSettings;
    daemon/create.go containerCreate and daemon/update.go ContainerUpdate wrap its error in
    errdefs.InvalidParameter: 400). Expects the router's PidsLimit normalisation already done."""
    fn = "daemon/daemon_windows.go verifyPlatformContainerResources"
    if hc.get("MemorySwappiness") == -1:  # daemon/daemon.go fixMemorySwappiness
        hc["MemorySwappiness"] = None
    shares, percent, count, nano = (_int(hc, k) for k in ("CpuShares", "CpuPercent", "CpuCount", "NanoCpus"))
    if not _runs_as_hyperv(hc):
        # Windows Server Containers: CPU count, then shares, then percent (warnings, not errors)
        if count > 0:
            shares = percent = 0
        elif shares > 0:
            percent = 0
    if shares < 0 or shares > _WINDOWS_MAX_CPU_SHARES:
        raise _bad_request(f"range of CPUShares is from 1 to {_WINDOWS_MAX_CPU_SHARES}", fn)
    if percent < 0 or percent > _WINDOWS_MAX_CPU_PERCENT:
        raise _bad_request(f"range of CPUPercent is from 1 to {_WINDOWS_MAX_CPU_PERCENT}", fn)
    if count < 0:
        raise _bad_request("invalid CPUCount: CPUCount cannot be negative", fn)
    if nano > 0 and percent > 0:
        raise _bad_request("conflicting options: Nano CPUs and CPU Percent cannot both be set", fn)
    if nano > 0 and shares > 0:
        raise _bad_request("conflicting options: Nano CPUs and CPU Shares cannot both be set", fn)
    if nano < 0 or nano > ncpu * 10**9:
        raise _bad_request(f"range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available", fn)
    # (the NanoCPUs rounding for Hyper-V before RS3 (16299) does not apply to RS5+ builds)
    unsupported: list[tuple[str, str]] = [
        ("BlkioDeviceReadBps", "BlkioDeviceReadBps"),
        ("BlkioDeviceReadIOps", "BlkioDeviceReadIOps"),
        ("BlkioDeviceWriteBps", "BlkioDeviceWriteBps"),
        ("BlkioDeviceWriteIOps", "BlkioDeviceWriteIOps"),
        ("BlkioWeight", "BlkioWeight"),
        ("BlkioWeightDevice", "BlkioWeightDevice"),
        ("CgroupParent", "CgroupParent"),
        ("CpuPeriod", "CPUPeriod"),
        ("CpusetCpus", "CpusetCpus"),
        ("CpusetMems", "CpusetMems"),
        ("KernelMemory", "KernelMemory"),
        ("MemoryReservation", "MemoryReservation"),
        ("MemorySwap", "MemorySwap"),
    ]
    for key, name in unsupported:
        if hc.get(key):  # a non-empty list, string or non-zero number
            raise _bad_request(f"invalid option: Windows does not support {name}", fn)
    if hc.get("MemorySwappiness") is not None:
        raise _bad_request("invalid option: Windows does not support MemorySwappiness", fn)
    if hc.get("OomKillDisable"):
        raise _bad_request("invalid option: Windows does not support OomKillDisable", fn)
    if hc.get("PidsLimit"):
        raise _bad_request("invalid option: Windows does not support PidsLimit", fn)
    if hc.get("Ulimits"):
        raise _bad_request("invalid option: Windows does not support Ulimits", fn)


# --- signals: pkg/signal/signal_windows.go SignalMap and signal.go ParseSignal -------------------------


def parse_signal(raw: str) -> str | None:
    """pkg/signal/signal.go ParseSignal with the Windows SignalMap (KILL and TERM only): the
    error text, or None."""
    try:
        if int(raw) == 0:
            return f"Invalid signal: {raw}"
        return None
    except ValueError:
        pass
    name = raw.upper().removeprefix("SIG")
    return None if name in ("KILL", "TERM") else f"Invalid signal: {raw}"


# --- what createSpecLinuxFields does not pass to the utility VM ---------------------------------------

# daemon/oci_windows.go createSpec + createSpecLinuxFields build a Linux container's spec from
# oci.DefaultLinuxSpec plus: Root (path, Readonly, refused above), Hostname, Domainname
# (setLinuxDomainname), Process Cwd/Args/Env/Terminal/ConsoleSize/User.Username, the mounts (all as
# binds into the utility VM, oci_windows.go createSpec), capabilities (caps.TweakCapabilities on
# CapAdd/CapDrop), DeviceCgroupRules, and the network endpoints. setResourcesInSpec puts CPU and
# memory into spec.Windows.Resources, which libcontainerd/local/local_windows.go createLinux hands
# to HCS for the utility VM (extractResourcesFromSpec): the limits size the VM, the container gets
# no cgroup limit (moby#37296). Everything else a create may carry is accepted and not used; the
# stand-in removes it before the Linux engine behind could apply it:
DROPPED_HOSTCONFIG: dict[str, str] = {
    # sizes the utility VM, not a container cgroup (setResourcesInSpec -> spec.Windows.Resources)
    "Memory": "sizes the utility VM (oci_windows.go setResourcesInSpec)",
    "NanoCpus": "sizes the utility VM (oci_windows.go setResourcesInSpec)",
    "CpuShares": "sizes the utility VM (oci_windows.go setResourcesInSpec)",
    "CpuCount": "sizes the utility VM (oci_windows.go setResourcesInSpec)",
    "CpuPercent": "sizes the utility VM (oci_windows.go setResourcesInSpec)",
    "IOMaximumBandwidth": "Windows storage QoS of the utility VM (oci_windows.go setResourcesInSpec)",
    "IOMaximumIOps": "Windows storage QoS of the utility VM (oci_windows.go setResourcesInSpec)",
    # passed by verifyPlatformContainerResources and used nowhere for a Linux container
    "CpuQuota": "not used by oci_windows.go createSpecLinuxFields/setResourcesInSpec",
    "KernelMemoryTCP": "not used by oci_windows.go",
    "OomKillDisable": "false passes verifyPlatformContainerResources; not used",
    "MemorySwappiness": "-1 passes (fixMemorySwappiness); not used",
    "PidsLimit": "0/-1 pass (router: unlimited); not used",
    "DeviceRequests": "not used by oci_windows.go",
    "Devices": "createSpecLinuxFields does not map devices (the Windows device branch is for Windows images)",
    # namespaces and kernel settings: oci_windows.go sets none of them (DefaultLinuxSpec's own apply)
    "PidMode": "oci_windows.go sets no namespaces",
    "IpcMode": "oci_windows.go sets no namespaces",
    "UTSMode": "oci_windows.go sets no namespaces",
    "UsernsMode": "oci_windows.go sets no namespaces",
    "CgroupnsMode": "oci_windows.go sets no namespaces",
    "Cgroup": "oci_windows.go sets no namespaces",
    "Sysctls": "not used by oci_windows.go",
    "SecurityOpt": "daemon_windows.go parseSecurityOpt is a no-op; credential specs only for Windows images",
    "OomScoreAdj": "not used by oci_windows.go",
    "ShmSize": "not used: /dev/shm is DefaultLinuxSpec's",
    "Tmpfs": "container_windows.go TmpfsMounts returns none",
    "GroupAdd": "not used by oci_windows.go",
    "Init": "not used by oci_windows.go",
    "Links": "daemon_windows.go registerLinks is a no-op",
    "MaskedPaths": "not used: DefaultLinuxSpec's masked paths apply",
    "ReadonlyPaths": "not used: DefaultLinuxSpec's read-only paths apply",
    "Runtime": "libcontainerd/local runs LCOW through HCS, not a named runtime",
    # refused when set (check_decode), removed when false/empty
    "Privileged": "runconfig/hostconfig_windows.go validatePrivileged",
    "ReadonlyRootfs": "runconfig/hostconfig_windows.go validateReadonlyRootfs",
    "Isolation": "the Linux engine behind knows no isolation; the container is Hyper-V isolated",
}


@dataclass
class CreatePlan:
    """A create that passed: what goes to the engine behind, and what inspect should show."""

    body: JSON
    dropped: list[str] = field(default_factory=list)
    shown_hostconfig: JSON = field(default_factory=dict)  # HostConfig as the Windows daemon keeps it


def plan_create(body: JSON, settings: Settings, lookup: Lookup) -> CreatePlan:
    """POST /containers/create for a Linux container, in the Windows daemon's order:
    runconfig/config.go decodeContainerConfig (500s), then daemon/create.go containerCreate ->
    verifyContainerSettings (400s), then daemon/create.go create: the image must exist (else the
    engine behind answers its 404), registerMountPoints parses Binds (500s), and
    daemon/create_windows.go createContainerOSSpecificSettings refuses process isolation (500)."""
    config: JSON = copy.deepcopy(body)
    hc: JSON = config.pop("HostConfig", None) or {}
    networking = config.pop("NetworkingConfig", None)

    check_decode(config, hc)

    # api/server/router/container/container_routes.go postContainersCreate: PidsLimit <= 0 is unlimited
    pids = hc.get("PidsLimit")
    if isinstance(pids, int) and pids <= 0:
        hc["PidsLimit"] = None

    # daemon/container.go validateContainerConfig: the Windows ParseSignal knows KILL and TERM only
    stop_signal = str(config.get("StopSignal") or "")
    if stop_signal:
        problem = parse_signal(stop_signal)
        if problem:
            raise _bad_request(problem, "daemon/container.go validateContainerConfig (pkg/signal/signal_windows.go)")

    # daemon/container.go validateHostConfig: mounts through lcowParser.ValidateMountConfig (400)
    for mnt in hc.get("Mounts") or []:
        problem = validate_mount_config(mnt, settings, lookup)
        if problem:
            raise _bad_request(problem, f"{_PARSER} validateMountConfigReg (daemon/container.go validateHostConfig)")

    verify_resources(hc, lookup.ncpu())

    image = str(config.get("Image") or "")
    shown = copy.deepcopy(hc)
    shown["Isolation"] = "hyperv"  # create_windows.go: LCOW is always Hyper-V
    if image and not lookup.image_exists(image):
        # daemon/create.go create fails at GetImage with the same 404 the engine behind gives
        return CreatePlan(body=_forward_body(config, hc, networking, [], settings), shown_hostconfig=shown)

    binds = [parse_bind(str(b), settings, lookup) for b in hc.get("Binds") or []]

    # daemon/create_windows.go createContainerOSSpecificSettings
    if _is_process(_isolation(hc)):
        raise _system(
            "process isolation is invalid for Linux containers on Windows",
            "daemon/create_windows.go createContainerOSSpecificSettings",
        )
    for spec in config.get("Volumes") or {}:
        try:
            parse_bind(spec, settings, lookup)
        except Refusal as refusal:
            raise _system(
                f"Unrecognised volume spec: {refusal.message}",
                "daemon/create_windows.go createContainerOSSpecificSettings",
            ) from None

    dropped = [key for key in DROPPED_HOSTCONFIG if hc.get(key) not in (None, "", 0, False, [], {})]
    return CreatePlan(
        body=_forward_body(config, hc, networking, binds, settings), dropped=dropped, shown_hostconfig=shown
    )


def _linux_source(settings: Settings, windows_path: str) -> str:
    mapped = settings.to_linux(windows_path)
    return mapped if mapped is not None else windows_path


def _forward_body(config: JSON, hc: JSON, networking: Any, binds: list[BindSpec], settings: Settings) -> JSON:
    """The request for the Linux engine behind: dropped fields removed, Windows paths mapped, and
    every volume made 'nocopy' (windows_parser.go DefaultCopyMode is false: the Windows daemon
    never copies image content into a new volume, create_windows.go)."""
    out_hc = {k: v for k, v in hc.items() if k not in DROPPED_HOSTCONFIG}
    mounts: list[JSON] = []
    for mnt in hc.get("Mounts") or []:
        m = copy.deepcopy(mnt)
        if m.get("Type") == "bind":
            m["Source"] = _linux_source(settings, str(m.get("Source") or ""))
        elif m.get("Type") == "volume":
            options = m.get("VolumeOptions") or {}
            options["NoCopy"] = True
            m["VolumeOptions"] = options
        mounts.append(m)
    out_binds: list[str] = []
    for bind in binds:
        if bind.mount_type == "bind":
            linux = _linux_source(settings, bind.source_as_given)
            out_binds.append(f"{linux}:{bind.destination}" + (":ro" if bind.read_only else ""))
        else:  # a named or anonymous volume
            vol: JSON = {"Type": "volume", "Target": bind.destination, "VolumeOptions": {"NoCopy": True}}
            if bind.source:
                vol["Source"] = bind.source
            if bind.read_only:
                vol["ReadOnly"] = True
            mounts.append(vol)
    if hc.get("Binds") is not None or binds:
        out_hc["Binds"] = out_binds or None
    if hc.get("Mounts") is not None or mounts:
        out_hc["Mounts"] = mounts or None
    # Windows' default network is "nat" (runconfig/hostconfig_windows.go DefaultDaemonNetworkMode);
    # behind it is the Linux engine's "bridge"
    if str(out_hc.get("NetworkMode") or "").lower() == "nat":
        out_hc["NetworkMode"] = "bridge"
    out = dict(config)
    out["HostConfig"] = out_hc
    if networking is not None:
        out["NetworkingConfig"] = networking
    return out


# --- exec -------------------------------------------------------------------------------------------


def plan_exec_create(body: JSON) -> tuple[JSON, list[str]]:
    """POST /containers/{id}/exec. daemon/exec.go ContainerExecStart builds the process from an
    empty specs.Process on Windows (Args, Env, Cwd, Terminal only) and
    daemon/exec_windows.go execSetPlatformOpt sets the user only for Windows containers: for a
    Linux container, Privileged is not used and the process runs with the zero user, uid 0 gid 0."""
    out = dict(body)
    dropped = [k for k in ("Privileged", "User") if out.get(k)]
    out.pop("Privileged", None)
    out["User"] = "0:0"
    return out, dropped


# --- update -----------------------------------------------------------------------------------------

_UPDATE_RESOURCES = [
    "CpuShares",
    "Memory",
    "NanoCpus",
    "CgroupParent",
    "BlkioWeight",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Devices",
    "DeviceCgroupRules",
    "KernelMemory",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "OomKillDisable",
    "PidsLimit",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
]


def check_update(body: JSON, full_id: str, ncpu: int) -> None:
    """POST /containers/{id}/update: daemon/update.go ContainerUpdate runs verifyContainerSettings
    (400), then container/container_windows.go UpdateContainer refuses any resource (500, wrapped by
    daemon/update.go errCannotUpdate)."""
    hc = copy.deepcopy(body)
    pids = hc.get("PidsLimit")
    if isinstance(pids, int) and pids <= 0:  # the router's normalisation, as for create
        hc["PidsLimit"] = None
    verify_resources(hc, ncpu)
    for key in _UPDATE_RESOURCES:
        value = hc.get(key)
        if key in ("MemorySwappiness", "OomKillDisable"):
            present = value is not None
        else:
            present = value not in (None, "", 0, [], {})
        if present:
            raise _system(
                f"Cannot update container {full_id}: resource updating isn't supported on Windows",
                "container/container_windows.go UpdateContainer (daemon/update.go errCannotUpdate)",
            )


# --- the rest ---------------------------------------------------------------------------------------


def check_running_fs(action: str) -> Refusal:
    """What a running Hyper-V container answers for file-system operations."""
    if action == "archive":  # HEAD/GET/PUT /containers/{id}/archive
        return _system(
            "filesystem operations against a running Hyper-V container are not supported",
            "daemon/archive_windows.go isOnlineFSOperationPermitted (daemon/archive.go: errdefs.System)",
        )
    if action == "changes":
        return _system("Windows does not support diff of a running container", "daemon/changes.go ContainerChanges")
    return _system(
        "windows does not support commit of a running container", "daemon/commit.go CreateImageFromContainer"
    )


def check_top(ps_args: str) -> None:
    if ps_args:
        raise _system("Windows does not support arguments to top", "daemon/top_windows.go ContainerTop")


def check_volume_create(body: JSON) -> None:
    """POST /volumes/create with the local driver: volume/local/local_windows.go setOpts refuses
    options (errdefs.InvalidParameter), wrapped by volume/service/store.go in an OpErr ('create
    <name>: ...'), which keeps the cause's class: 400."""
    driver = str(body.get("Driver") or "local")
    if driver == "local" and body.get("DriverOpts"):
        name = str(body.get("Name") or secrets.token_hex(32))
        raise _bad_request(
            f"create {name}: options are not supported on this platform",
            "volume/local/local_windows.go setOpts (volume/service/errors.go OpErr)",
        )


def plan_network_create(body: JSON) -> JSON:
    """POST /networks/create: the Windows default driver is nat; behind it is the Linux bridge."""
    out = dict(body)
    if str(out.get("Driver") or "").lower() == "nat":
        out["Driver"] = "bridge"
    return out


# --- start ----------------------------------------------------------------------------------------------


def check_start(container: JSON) -> Refusal | None:
    """On Windows "host" is no network mode, just a network name (api/types/container
    hostconfig_windows.go: IsHost is false), and no network of that name exists: create
    accepts it, start fails to find it (daemon/container_operations.go connectToNetwork,
    FindNetwork; moby#38166: "network host not found")."""
    mode = str(((container.get("HostConfig") or {}).get("NetworkMode")) or "")
    if mode == "host":
        return Refusal(404, "network host not found", "daemon/container_operations.go connectToNetwork")
    return None


# --- stop and restart ---------------------------------------------------------------------------

# container/container_windows.go: a Windows daemon waits 30 s, not Linux's 10 (container_unix.go)
WINDOWS_DEFAULT_STOP_TIMEOUT = 30


def stop_timeout(query: Mapping[str, str], container: JSON) -> int | None:
    """The grace period to pass on for a stop or restart that gives no ``t``: the
    container's own StopTimeout, else the Windows default (daemon/stop.go ContainerStop
    and container/container.go StopTimeout); None when the client gave one."""
    if "t" in query:
        return None
    own = (container.get("Config") or {}).get("StopTimeout")
    return int(own) if own is not None else WINDOWS_DEFAULT_STOP_TIMEOUT
