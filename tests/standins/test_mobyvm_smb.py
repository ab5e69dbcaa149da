"""standins/mobyvm.py --share-mode smb, without booting a VM: qemu's command line keeps the
guest confined (restrict=on, one guestfwd to smbd on loopback), smbd's configuration
models a Windows share on 127.0.0.1 only, and stop ends the smbd it started."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.vm_script import free_port, load

mobyvm = load()


def option(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == flag]


def test_smb_mode_forwards_only_the_guests_smb_address_to_smbd_on_loopback(tmp_path: Path) -> None:
    """restrict=on stays; the one added rule takes the guest's 10.0.2.100:445 to smbd on
    127.0.0.1 (qemu(1): restrict=on leaves explicit forwarding rules working)."""
    command = mobyvm.qemu_command(tmp_path, 23999, tmp_path, 1024, 1, share_mode="smb", smb_port=45123)
    (netdev,) = option(command, "-netdev")
    options = netdev.split(",")
    assert options[:3] == ["user", "id=n0", "restrict=on"]
    assert [o for o in options if o.startswith("hostfwd=")] == ["hostfwd=tcp:127.0.0.1:23999-:2375"]
    assert [o for o in options if o.startswith("guestfwd=")] == [
        "guestfwd=tcp:10.0.2.100:445-cmd:/bin/busybox nc 127.0.0.1 45123"
    ]
    assert "-virtfs" not in command
    assert option(command, "-fw_cfg") == [f"name=opt/parity/smb-password,file={mobyvm.run_dir(23999) / 'smb-password'}"]
    (append,) = option(command, "-append")
    assert f" parity.share={tmp_path} parity.sharemode=smb " in append


def test_9p_mode_is_unchanged(tmp_path: Path) -> None:
    command = mobyvm.qemu_command(tmp_path, 23999, tmp_path, 1024, 1)
    (netdev,) = option(command, "-netdev")
    assert netdev == "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:23999-:2375"
    assert option(command, "-virtfs") == [
        f"local,path={tmp_path},mount_tag=parity,security_model=passthrough,id=share0"
    ]
    assert option(command, "-append") == [f"console=ttyS0 parity.share={tmp_path} panic=-1 mitigations=off"]
    assert "-fw_cfg" not in command


def settings(conf: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    section: dict[str, str] = {}
    for raw in conf.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            section[key.strip()] = value.strip()
    return sections


def test_smbd_listens_on_loopback_only_and_serves_one_windows_like_share(tmp_path: Path) -> None:
    state = tmp_path / "run"
    conf = settings(mobyvm.smb_conf(state, tmp_path / "shared", 45123))
    assert set(conf) == {"global", "parity"}
    found = conf["global"]
    assert (found["interfaces"], found["bind interfaces only"], found["smb ports"]) == ("127.0.0.1", "yes", "45123")
    assert (found["disable netbios"], found["load printers"], found["disable spoolss"]) == ("yes", "no", "yes")
    assert found["unix extensions"] == "no"
    assert found.get("smb3 unix extensions", "no") == "no"
    assert found["map to guest"] == "never"
    # everything smbd keeps is in the run folder
    for key in ("private dir", "lock directory", "state directory", "cache directory", "pid directory", "log file"):
        assert Path(found[key]).is_relative_to(state), key
    assert found["passdb backend"] == f"tdbsam:{state / 'smb' / 'private' / 'passdb.tdb'}"
    share = conf["parity"]
    assert share["path"] == str(tmp_path / "shared")
    assert (share["case sensitive"], share["preserve case"], share["read only"]) == ("no", "yes", "no")
    assert share["valid users"] == mobyvm.SMB_USER == "root"


def test_the_guest_mounts_with_docker_for_windows_options() -> None:
    """docker/for-win #2717, #4070: "ip=10.0.75.1,unc=\\\\10.0.75.1\\C,noperm,iocharset=utf8,
    dir_mode=0777,nobrl,mfsymlinks,vers=3.02,sec=ntlmsspi,user=...,domain=...,pass=..."."""
    assert mobyvm.CIFS_OPTIONS == (
        "ip=10.0.2.100,unc=\\\\10.0.2.100\\parity,noperm,iocharset=utf8,dir_mode=0777,nobrl,mfsymlinks,"
        "vers=3.02,sec=ntlmsspi,user=root,domain=PARITYHOST"
    )
    # the guest's init names the same address, share and fw_cfg file
    assert f'"//{mobyvm.SMB_GUEST_ADDRESS}/{mobyvm.SMB_SHARE}"' in mobyvm.INIT
    assert f"/sys/firmware/qemu_fw_cfg/by_name/{mobyvm.FW_CFG_PASSWORD}/raw" in mobyvm.INIT


def listeners(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* has them) of sockets listening on port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                found.append(address)
    return found


@pytest.fixture
def port() -> Iterator[int]:
    chosen = free_port()
    yield chosen
    mobyvm.stop(chosen)


def test_smbd_starts_on_loopback_and_stop_ends_its_process_group(port: int, tmp_path: Path) -> None:
    if shutil.which("smbd") is None:
        mobyvm.ensure_packages()
    mobyvm.run_dir(port).mkdir(parents=True)
    smb_port = mobyvm.start_smbd(port, tmp_path)
    pid = mobyvm.smbd_pid(port)
    assert pid is not None
    assert listeners(smb_port) == ["0100007F"]  # 127.0.0.1 only, no IPv6
    secret = mobyvm.run_dir(port) / "smb-password"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_text().encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert mobyvm.status(port) == f"not running (smbd pid {pid} is left: stop ends it)"
    assert mobyvm.stop(port) == f"not running; smbd stopped (pid {pid})"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert not mobyvm.run_dir(port).exists()
