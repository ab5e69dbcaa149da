"""Terminals: a container created with Tty gets a pseudo-terminal, sized through the
engine's resize, with the kernel's line discipline between its process and an attached
client; detach keys end an attach and leave the container running."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from docker.models.containers import Container

from parity.run.resources import ResourceScope
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from suites.lifecycle.waiting import wait_for

# How long an attached stream may take to answer: seconds, however loaded.
ATTACH_SECONDS = 30


@contextmanager
def attached(container: Container, **params: Any) -> Iterator[socket.socket]:
    """The container's stdin, stdout and stderr, attached as a stream (Engine API
    ContainerAttach, hijacked): raw bytes both ways, as a Tty container has no
    multiplexing."""
    api = container.client.api  # type: ignore[union-attr]
    raw: Any = api.attach_socket(
        str(container.id), params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, **params}
    )
    stream: socket.socket = getattr(raw, "_sock", raw)  # docker-py hands over the socket's file object on unix
    stream.settimeout(ATTACH_SECONDS)
    try:
        yield stream
    finally:
        stream.close()
        raw.close()


def read_until(stream: socket.socket, done: Callable[[bytes], bool]) -> tuple[bytes, bool]:
    """What the stream sends until ``done`` holds for it, or until the end of the stream:
    the bytes, and whether the stream ended."""
    received = b""
    while not done(received):
        chunk = stream.recv(4096)
        if not chunk:
            return received, True
        received += chunk
    return received, False


def test_tty_gives_the_main_process_a_terminal_on_every_standard_stream(resources: ResourceScope) -> None:
    """With Tty, the main process's stdin, stdout and stderr are terminals, and its stdin
    is the terminal device mounted at /dev/console.

    Source: OCI runtime spec config.md (process.terminal: "whether a terminal is attached
    to the process"; on Linux "the pseudoterminal slave is duplicated on the process's
    standard streams") and config-linux.md ("/dev/console is set up if terminal is
    enabled ... by bind mounting the pseudoterminal slave to /dev/console"); isatty(3);
    stat(2) st_rdev.
    Level: MUST, https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md
    """
    done = resources.run(
        [PROBE_PATH, "isatty", "--", "stat", "/proc/self/fd/0", "--", "stat", "/dev/console"], tty=True
    )
    streams, own, console = json.loads(done.stdout.replace(b"\r\n", b"\n"))
    assert (done.status, streams["stdin"], streams["stdout"], streams["stderr"]) == (0, True, True, True)
    assert (own["type"], console["type"]) == ("chr", "chr")
    assert (own["rdev_major"], own["rdev_minor"]) == (console["rdev_major"], console["rdev_minor"])


def test_tty_output_newlines_arrive_as_crlf(resources: ResourceScope) -> None:
    """A new container terminal is in the kernel's default mode (ONLCR, ICRNL, ICANON,
    ECHO), so each newline the process writes reaches the logs as CR LF.

    Source: termios(3) (ONLCR: "Map NL to CR-NL on output"); the kernel's initial
    termios of a pseudoterminal, tty_std_termios (drivers/tty/tty_io.c: OPOST|ONLCR,
    ICRNL|IXON, ISIG|ICANON|ECHO|...); moby#8513 (docker run -t output carries "\\r\\n").
    Level: SHOULD, https://github.com/torvalds/linux/blob/master/drivers/tty/tty_io.c
    """
    done = resources.run([PROBE_PATH, "winsize", "/proc/self/fd/1"], tty=True)
    assert (done.status, done.stdout[-3:], done.stdout.count(b"\n"), done.stdout.count(b"\r")) == (0, b"]\r\n", 1, 1)
    mode = json.loads(done.stdout)[0]
    assert (mode["onlcr"], mode["icrnl"], mode["icanon"], mode["echo"]) == (True, True, True, True)


def test_resize_sets_the_window_size_and_signals_the_foreground_process(resources: ResourceScope) -> None:
    """POST /containers/{id}/resize sets the container terminal's window size, as
    TIOCGWINSZ on /dev/console reads it, and the kernel sends SIGWINCH to the terminal's
    foreground process group, which is the main process's.

    Source: Engine API POST /containers/{id}/resize ("Resize the TTY for a container", h
    and w in characters); ioctl_tty(2) (TIOCGWINSZ; "When the window size changes, a
    SIGWINCH signal is sent to the foreground process group"); OCI runtime spec
    config-linux.md (/dev/console).
    Level: MUST, https://man7.org/linux/man-pages/man2/ioctl_tty.2.html
    """
    container = resources.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "SIGTERM"], tty=True)
    # with a terminal, the probe's "ready" (stderr) and signal lines (stdout) are one
    # stream in the logs; waiting on them costs no exec
    wait_for(container, "signal handlers installed", lambda c: c.logs().startswith(b"ready"))
    container.client.api.resize(str(container.id), height=37, width=101)  # type: ignore[union-attr]
    wait_for(container, "SIGWINCH recorded", lambda c: b"SIGWINCH" in c.logs(), timeout=10)
    recorded, size = Prober(container)(("read", "/tmp/signals"), ("winsize", "/dev/console"))
    assert (recorded["data"], size["rows"], size["cols"]) == ("ready\nSIGWINCH\n", 37, 101)


def test_attached_input_passes_the_terminal_line_discipline(resources: ResourceScope) -> None:
    """Input written to an attached Tty container goes through the terminal: a typed
    carriage return ends the line as a newline (ICRNL), the line is echoed with CR LF,
    and the process reads the line and its answer arrives with CR LF.

    Source: Docker run reference (-i keeps stdin open, -t allocates a pseudo-TTY); Engine
    API POST /containers/{id}/attach (stdin, stream); termios(3) (ICRNL, ECHO, ICANON,
    ONLCR); the kernel's initial termios of a pseudoterminal (drivers/tty/tty_io.c
    tty_std_termios).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    container = resources.container(["/bin/sh", "-c", 'read line; echo "got:$line"'], tty=True, stdin_open=True)
    with attached(container) as stream:
        stream.sendall(b"hello\r")
        output, ended = read_until(stream, lambda _: False)
    assert container.wait(timeout=ATTACH_SECONDS)["StatusCode"] == 0
    assert (output, ended) == (b"hello\r\ngot:hello\r\n", True)


@pytest.mark.parametrize(
    ("detach_keys", "typed"),
    [pytest.param(None, b"\x10\x11", id="default-ctrl-p-ctrl-q"), pytest.param("ctrl-e,e", b"\x05e", id="ctrl-e-e")],
)
def test_detach_keys_end_the_attach_and_leave_the_container_running(
    resources: ResourceScope, detach_keys: str | None, typed: bytes
) -> None:
    """The detach key sequence (ctrl-p ctrl-q unless the attach names others) ends an
    attach to a Tty container without reaching the process: the stream ends, the
    container keeps running, and a later attach finishes the same input line without the
    keys in it.

    Source: Engine API POST /containers/{id}/attach (detachKeys); docker attach reference
    ("The default sequence is CTRL-p CTRL-q"); moby v20.10.24 container/stream/attach.go
    (defaultEscapeSequence 16, 17; copyEscapable).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/container/stream/attach.go
    """
    container = resources.container(["/bin/sh", "-c", 'read line; echo "got:$line"'], tty=True, stdin_open=True)
    params = {} if detach_keys is None else {"detachKeys": detach_keys}
    with attached(container, **params) as stream:
        stream.sendall(b"ab")
        echoed, _ = read_until(stream, lambda seen: seen.endswith(b"ab"))
        stream.sendall(typed)
        after, ended = read_until(stream, lambda _: False)
    container.reload()
    running = container.attrs["State"]["Running"]
    with attached(container) as stream:
        stream.sendall(b"c\r")
        rest, _ = read_until(stream, lambda _: False)
    assert (echoed, after, ended, running) == (b"ab", b"", True, True)
    assert rest == b"c\r\ngot:abc\r\n"
