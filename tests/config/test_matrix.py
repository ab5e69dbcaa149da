"""matrix.yaml validation: every problem is one line naming the file, target and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config.matrix import MatrixError, load

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(MatrixError) as caught:
        load(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_shipped_matrix_is_valid() -> None:
    matrix = load(REPO / "matrix.yaml")
    assert matrix.names() == ["local", "vm-9p", "mobyvm-smb", "windows-lcow"]
    assert [t.kind for t in matrix.targets] == ["linux", "linux", "mobyvm", "hyperv"]
    vm = matrix.targets[1].launch
    assert vm is not None
    assert vm.folder == REPO
    assert vm.start[0] == "standins/mobyvm.py"
    assert (REPO / vm.start[0]).stat().st_mode & 0o111  # run as a program from the repo


def test_launched_targets_are_opt_in() -> None:
    """Plain pytest covers only targets without 'launch'; naming one, or its kind, opts in."""
    matrix = load(REPO / "matrix.yaml")
    assert [t.name for t in matrix.select([])] == ["local"]
    assert [t.name for t in matrix.select([], lambda kind: kind == "mobyvm")] == ["local", "mobyvm-smb"]
    assert [t.name for t in matrix.select([], lambda kind: kind == "linux")] == ["local", "vm-9p"]
    assert [t.name for t in matrix.select(["vm-9p"])] == ["vm-9p"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "targets:\n  - name: local\n    kind: linux\n    enigne: {}\n",
            "target 'local': key 'enigne': unknown key",
        ),
        (
            "targets:\n  - name: local\n    kind: linx\n",
            "target 'local': key 'kind': 'linx' is not one of 'linux', 'mobyvm' or 'hyperv'",
        ),
        ("targets:\n  - name: local\n", "target 'local': key 'kind': required key is missing"),
        ("targets:\n  - kind: linux\n", "target #1: key 'name': required key is missing"),
        (
            "targets:\n  - {name: a, kind: linux}\n  - {name: a, kind: mobyvm}\n",
            "target 'a': key 'name': duplicate target name",
        ),
        (
            "targets:\n  - {name: a, kind: linux, engine: {url: 'http://127.0.0.1:2375'}}\n",
            "target 'a': key 'engine.url': 'http://127.0.0.1:2375': scheme must be one of unix, tcp, ssh, npipe",
        ),
        (
            "targets:\n  - {name: a, kind: linux, engine: {url: 'tcp://127.0.0.1'}}\n",
            "target 'a': key 'engine.url': 'tcp://127.0.0.1': needs a port, e.g. tcp://127.0.0.1:2376",
        ),
        (
            "targets:\n  - {name: a, kind: linux, engine: {url: 'tcp://127.0.0.1:99999'}}\n",
            "target 'a': key 'engine.url': 'tcp://127.0.0.1:99999': Port out of range 0-65535",
        ),
        (
            "targets:\n  - {name: a, kind: linux, engine: {url: 'unix:///x.sock', context: c}}\n",
            "target 'a': key 'engine': give either url or context, not both",
        ),
        (
            "targets:\n  - {name: a, kind: linux, capabilities: {host_netwrok: true}}\n",
            "target 'a': key 'capabilities': unknown capability 'host_netwrok'",
        ),
        (
            "reference: nope\ntargets:\n  - {name: a, kind: linux}\n",
            "reference 'nope' is not a target (targets: a)",
        ),
        (
            "targets:\n  - {name: a, kind: linux, capabilities: {host_network: false}}\n",
            "target 'a': key 'capabilities.host_network': false needs a reason: "
            "write {supported: false, because: <why this target lacks it>}",
        ),
        (
            "targets:\n  - {name: a, kind: linux, capabilities: {host_network: {supported: false}}}\n",
            "target 'a': key 'capabilities.host_network': supported: false needs because: "
            "<why this target lacks it> (at least 10 characters)",
        ),
        (
            "targets:\n  - {name: a, kind: linux, engine: {timeout: fast}}\n",
            "target 'a': key 'engine.timeout': Input should be a valid integer",
        ),
        ("targets: []\n", "key 'targets': Tuple should have at least 1 item"),
        ("- local\n", "expected a mapping with a 'targets' list at the top"),
        ("targets:\n  - {name: Local!, kind: linux}\n", "target 'Local!': key 'name': 'Local!': use lowercase"),
        (
            "targets:\n  - {name: a, kind: linux, platform: amd64}\n",
            "target 'a': key 'platform': 'amd64': expected os/arch",
        ),
    ],
)
def test_invalid_matrix_is_one_line_naming_target_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'matrix.yaml'}: {expected}")


def test_not_yaml_names_the_position(tmp_path: Path) -> None:
    message = error_of(tmp_path, "targets:\n  - name: [local\n")
    assert message.startswith(f"{tmp_path / 'matrix.yaml'}: not valid YAML at line 3, column 1:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match=r"nosuch\.yaml: cannot read: No such file or directory$"):
        load(tmp_path / "nosuch.yaml")


def test_tls_file_that_does_not_exist(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        "targets:\n  - {name: w, kind: hyperv, engine: {url: 'tcp://127.0.0.1:2376', tls: {cert_path: certs}}}\n",
    )
    assert message == (
        f"{tmp_path / 'matrix.yaml'}: target 'w': key 'engine.tls.ca': file '{tmp_path / 'certs' / 'ca.pem'}' does not exist"
    )


def test_tls_paths_are_relative_to_the_matrix_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / "certs" / name).write_text("x")
    matrix = load(
        write(
            tmp_path,
            "targets:\n  - {name: w, kind: hyperv, engine: {url: 'tcp://127.0.0.1:2376', tls: {cert_path: certs}}}\n",
        )
    )
    tls = matrix.targets[0].engine.tls
    assert tls is not None
    assert tls.files() == {
        "ca": tmp_path / "certs/ca.pem",
        "cert": tmp_path / "certs/cert.pem",
        "key": tmp_path / "certs/key.pem",
    }


def test_tls_only_for_tcp(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, "targets:\n  - {name: a, kind: linux, engine: {url: 'unix:///x', tls: {verify: false}}}\n"
    )
    assert message.endswith("target 'a': key 'engine': tls applies to tcp:// urls only")


def test_select_unknown_target_lists_known_names(tmp_path: Path) -> None:
    matrix = load(write(tmp_path, "targets:\n  - {name: a, kind: linux}\n  - {name: b, kind: mobyvm}\n"))
    with pytest.raises(MatrixError, match=r"^unknown target 'nosuch'; known targets: a, b$"):
        matrix.select(["nosuch"])
    assert [t.name for t in matrix.select(["b", "a", "b"])] == ["b", "a"]
    assert [t.name for t in matrix.select([])] == ["a", "b"]


@pytest.mark.parametrize(
    ("host_path", "engine_path"),
    [
        ("/work/data", "/host_mnt/work/data"),
        ("/work/deep/x", "/mnt/deep/x"),
        ("/elsewhere/x", "/elsewhere/x"),
        ("/workshop", "/workshop"),
    ],
)
def test_engine_path_longest_mapping_wins(tmp_path: Path, host_path: str, engine_path: str) -> None:
    matrix = load(
        write(
            tmp_path,
            "targets:\n  - name: a\n    kind: mobyvm\n    paths:\n"
            "      - {host: /work, engine: /host_mnt/work}\n"
            "      - {host: /work/deep, engine: /mnt/deep}\n",
        )
    )
    assert matrix.targets[0].engine_path(host_path) == engine_path


def test_engine_path_to_a_windows_folder(tmp_path: Path) -> None:
    matrix = load(
        write(
            tmp_path, "targets:\n  - name: w\n    kind: hyperv\n    paths:\n      - {host: /, engine: 'C:\\parity\\'}\n"
        )
    )
    assert matrix.targets[0].engine_path("/tmp/x/y") == "C:\\parity\\tmp\\x\\y"


def test_capability_defaults_by_kind(tmp_path: Path) -> None:
    matrix = load(
        write(
            tmp_path,
            "targets:\n  - {name: w, kind: hyperv}\n  - {name: l, kind: linux, capabilities: {ipv6_networks: {supported: false, because: no IPv6 here at all}}}\n",
        )
    )
    hyperv, linux = (t.capability_set() for t in matrix.targets)
    assert hyperv["privileged"] is False
    assert hyperv["bind_mounts"] is True
    assert linux["privileged"] is True
    assert linux["ipv6_networks"] is False
