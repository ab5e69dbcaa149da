"""python3 -m standins.windows_lcow serve|start|stop: the Windows LCOW daemon stand-in.

serve   runs the stand-in in the foreground.
start   runs ``serve`` detached, waits until /_ping answers; exit 0 once it does, 3 when an engine
        already answers at that address (it is left as it is), 1 on failure; one line either way.
stop    stops what ``start`` started (by the pid it recorded), bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from standins.windows_lcow import relay
from standins.windows_lcow.settings import MOBY_REF, Settings, Share

ALREADY_UP = 3  # the launch protocol's "an engine already answers there"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding standins/


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 127.0.0.1:PORT")
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: the address must be a literal loopback address") from exc
    if not address.is_loopback or address.version != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: the stand-in listens on 127.0.0.1 (IPv4 loopback) only")
    return host, int(port)


def _share(text: str) -> Share:
    try:
        return Share.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m standins.windows_lcow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "start", "stop"):
        sub = commands.add_parser(name)
        sub.add_argument("--listen", type=_listen, required=True, metavar="127.0.0.1:PORT")
        sub.add_argument("--state", type=Path, default=Path("/tmp/parity-standins"), help="pidfile and log folder")
        if name == "stop":
            sub.add_argument("--wait", type=float, default=15.0, help="seconds to wait for it to end")
            continue
        sub.add_argument("--backend", default="unix:///var/run/docker.sock")
        sub.add_argument("--build", type=int, default=26100)
        sub.add_argument("--revision", type=int, default=1)
        sub.add_argument("--branch", default="rs_prerelease")
        sub.add_argument("--build-date", default="240401-1435", help="BuildLabEx date stamp, yymmdd-hhmm")
        sub.add_argument("--product-name", default="Windows Server Datacenter")
        sub.add_argument("--release-id", default="2009")
        sub.add_argument("--host-name", default="WINSRV-LCOW")
        sub.add_argument("--share", type=_share, action="append", default=[], metavar="WINDOWS_PREFIX=LINUX_PREFIX")
        sub.add_argument("--idle-timeout", type=float, default=3600.0)
        if name == "start":
            sub.add_argument("--wait", type=float, default=20.0, help="seconds to wait for /_ping")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        backend=args.backend,
        build=args.build,
        revision=args.revision,
        branch=args.branch,
        build_date=args.build_date,
        product_name=args.product_name,
        release_id=args.release_id,
        host_name=args.host_name,
        shares=tuple(args.share),
        idle_timeout=args.idle_timeout,
    )


def _files(args: argparse.Namespace) -> tuple[Path, Path]:
    host, port = args.listen
    stem = f"windows-lcow-{host}-{port}"
    return args.state / f"{stem}.pid", args.state / f"{stem}.log"


def ping(address: tuple[str, int], timeout: float = 2.0) -> bool | None:
    """True: an Engine API answers /_ping there; False: something listens but is no engine;
    None: nothing listens."""
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            data = b""
            while len(data) < 4096:
                piece = sock.recv(4096)
                if not piece:
                    break
                data += piece
    except ConnectionRefusedError:
        return None
    except OSError:
        return False
    head = data.split(b"\r\n", 1)[0]
    return head.startswith(b"HTTP/1.") and b" 200 " in head + b" " and data.rstrip().endswith(b"OK")


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    server = relay.serve(args.listen, settings)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    host, port = args.listen
    print(
        f"Windows LCOW stand-in ({MOBY_REF} rules; Windows {settings.build}.{settings.revision} {settings.branch}) "
        f"at tcp://{host}:{port}, relaying to {settings.backend}",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.5)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


def _start(args: argparse.Namespace) -> int:
    host, port = args.listen
    url = f"tcp://{host}:{port}"
    found = ping(args.listen)
    if found:
        print(f"an engine already answers at {url}; left as it is")
        return ALREADY_UP
    if found is False:
        print(f"something that is not an engine listens at {url}", file=sys.stderr)
        return 1
    settings = _settings(args)
    try:
        settings.backend_socket  # noqa: B018 (validates the backend url)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    pidfile, logfile = _files(args)
    args.state.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "standins.windows_lcow", "serve", "--listen", f"{host}:{port}"]
    argv += ["--state", str(args.state), "--backend", args.backend]
    argv += ["--build", str(args.build), "--revision", str(args.revision), "--branch", args.branch]
    argv += ["--build-date", args.build_date, "--product-name", args.product_name, "--release-id", args.release_id]
    argv += ["--host-name", args.host_name, "--idle-timeout", str(args.idle_timeout)]
    for share in args.share:
        argv += ["--share", f"{share.windows}={share.linux}"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    with logfile.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=_PACKAGE_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pidfile.unlink(missing_ok=True)
            tail = logfile.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            print(f"the stand-in exited with status {process.returncode}: {tail[0]} (log: {logfile})", file=sys.stderr)
            return 1
        if ping(args.listen, timeout=1.0):
            print(
                f"started the Windows LCOW stand-in at {url} (pid {process.pid}, Windows "
                f"{settings.build}.{settings.revision} {settings.branch}, relaying to {settings.backend}; log {logfile})"
            )
            return 0
        time.sleep(0.2)
    _terminate(process.pid, 5.0)
    pidfile.unlink(missing_ok=True)
    print(f"the stand-in did not answer /_ping at {url} within {args.wait:g} s (log: {logfile})", file=sys.stderr)
    return 1


def _is_ours(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"standins.windows_lcow" in cmdline and b"serve" in cmdline


def _terminate(pid: int, wait: float) -> bool:
    """SIGTERM, then SIGKILL after ``wait``; True once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(args: argparse.Namespace) -> int:
    host, port = args.listen
    pidfile, _logfile = _files(args)
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        print(f"no stand-in started at tcp://{host}:{port} (no pidfile {pidfile}); nothing to stop")
        return 0
    if not _is_ours(pid):
        pidfile.unlink(missing_ok=True)
        print(f"the stand-in at tcp://{host}:{port} (pid {pid}) is not running any more")
        return 0
    if not _terminate(pid, args.wait):
        print(f"the stand-in at tcp://{host}:{port} (pid {pid}) did not end", file=sys.stderr)
        return 1
    pidfile.unlink(missing_ok=True)
    print(f"stopped the Windows LCOW stand-in at tcp://{host}:{port} (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "start":
        return _start(args)
    return _stop(args)


if __name__ == "__main__":
    sys.exit(main())
