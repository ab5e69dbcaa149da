"""What containers see, read from mountinfo, and the fact table rows and preconditions use."""

from __future__ import annotations

from parity.platform.fact_table import fact_table, unmet_precondition, version_below, version_tuple
from parity.platform.facts import EngineFacts
from parity.platform.observed import MountFacts, ObservedPlatform, parse_mountinfo, storage_facts

# Lines in proc(5)'s format as the mobyvm stand-in's containers show them (9p bind, ext4
# volume, tmpfs), plus an optional field ("master:1") and an escaped space.
MOUNTINFO = """\
600 550 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
610 600 0:23 /tmp/parity-x /m/bind rw,relatime - 9p parity rw,sync,dirsync,access=client,msize=262144,trans=virtio
611 600 254:0 /docker/volumes/v/_data /m/volume rw,relatime - ext4 /dev/vda rw
612 600 0:60 / /m/tmpfs rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw
613 600 0:61 / /m/with\\040space rw shared:7 master:2 - tmpfs tmpfs rw,size=64k
"""


def test_mountinfo_gives_type_and_options_per_mount_point() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert mounts["/m/bind"] == MountFacts(
        "9p", ("rw", "relatime", "sync", "dirsync", "access=client", "msize=262144", "trans=virtio")
    )
    assert mounts["/m/with space"] == MountFacts("tmpfs", ("rw", "size=64k"))
    assert storage_facts(MOUNTINFO) == {
        "bind": mounts["/m/bind"],
        "volume": MountFacts("ext4", ("rw", "relatime")),
        "tmpfs": MountFacts("tmpfs", ("rw", "nosuid", "nodev", "noexec", "relatime")),
    }


def test_a_storage_kind_the_target_cannot_mount_is_absent() -> None:
    only_volume = "\n".join(line for line in MOUNTINFO.splitlines() if "/m/volume" in line)
    assert list(storage_facts(only_volume)) == ["volume"]


def test_observed_platform_round_trips_through_json() -> None:
    seen = ObservedPlatform("6.1.0-27-amd64", {"bind": MountFacts("cifs", ("rw", "nobrl"))})
    assert ObservedPlatform.from_json(seen.to_json()) == seen


def _engine(**changes: str) -> EngineFacts:
    info = {
        "OSType": "linux", "OperatingSystem": "Debian", "KernelVersion": "6.1.0-27-amd64", "ServerVersion": "20.10.24",
        "Architecture": "x86_64", "Driver": "overlay2", "SecurityOptions": ["name=seccomp,profile=default"],
        "CgroupVersion": "2", "CgroupDriver": "systemd", **changes,
    }  # fmt: skip
    return EngineFacts.from_api(info, {"ApiVersion": "1.41"})


def test_fact_table_takes_the_kernel_from_a_container_and_leaves_unknowns_out() -> None:
    seen = ObservedPlatform("5.15.0-lcow", {"bind": MountFacts("9p", ("rw",))})
    windows = _engine(OSType="windows", KernelVersion="10.0 26100 (26100.1.amd64fre.rs_prerelease)", CgroupVersion="")
    table = fact_table("hyperv", "hyperv", windows, seen)
    assert (table["kernel"], table["isolation"], table["bind.fstype"], table["bind.options"]) == (
        "5.15.0-lcow", "hyperv", "9p", ("rw",),
    )  # fmt: skip
    assert {"cgroup_version", "tmpfs.fstype"} & set(table) == set()
    # a Windows host's KernelVersion is not a container's kernel: unknown without a container
    assert "kernel" not in fact_table("hyperv", "hyperv", windows, ObservedPlatform())
    # a Linux engine's containers run on its kernel
    assert fact_table("linux", "", _engine(), ObservedPlatform())["kernel"] == "6.1.0-27-amd64"


def test_versions_compare_by_their_leading_numbers() -> None:
    assert version_tuple("6.1.0-27-amd64") == (6, 1, 0)
    assert version_tuple("master-dockerproject-2022-01-18") is None
    assert (version_below("20.10.24", "23.0"), version_below("23.0.0", "23"), version_below("6.6", "6.6.0")) == (
        True, False, False,
    )  # fmt: skip
    assert version_below("master", "23.0") is None


def test_a_precondition_is_unmet_only_below_its_version_and_never_on_an_unknown_fact() -> None:
    facts = {"kernel": "6.1.0-27-amd64"}
    assert unmet_precondition(facts, "kernel", "6.6", "tmpfs O_DIRECT") == (
        "kernel 6.1.0-27-amd64 is below 6.6, which added this behaviour (tmpfs O_DIRECT)"
    )
    assert unmet_precondition({"kernel": "6.6.0"}, "kernel", "6.6", "x") is None
    assert unmet_precondition({}, "kernel", "6.6", "x") is None
