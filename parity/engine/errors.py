"""Why an engine call failed, in one line, and whether it failed because the engine is gone."""

from __future__ import annotations

import http.client
import socket
import ssl

import docker.errors
import requests.exceptions
import urllib3.exceptions


class EngineUnavailable(Exception):
    """The engine cannot be used; str() is one line: '<address>: <reason>'."""


# (exception types, reason) in the order they are looked for along the cause chain.
_REASONS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((requests.exceptions.Timeout, socket.timeout, TimeoutError), "no answer within {timeout:g} s"),
    ((FileNotFoundError,), "no such socket (is the engine running?)"),
    ((ConnectionRefusedError,), "connection refused"),
    ((PermissionError,), "permission denied"),
    ((ssl.SSLError,), "TLS: {error}"),
    ((socket.gaierror,), "cannot resolve host: {error}"),
)


def reason(exc: BaseException, timeout: float) -> str:
    """A short, human reason for an engine call that failed."""
    chain = _causes(exc)
    for err in chain:
        if isinstance(err, docker.errors.APIError):
            return f"engine said {err.status_code}: {err.explanation or err}"
        for types, text in _REASONS:
            if isinstance(err, types):
                return text.format(
                    timeout=timeout, error=getattr(err, "reason", None) or getattr(err, "strerror", None) or err
                )
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and exceptions carried in args
    (urllib3 and requests wrap the OSError that says what really happened)."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        err = stack.pop(0)
        if err in seen:
            continue
        seen.append(err)
        stack.extend(e for e in (err.__cause__, err.__context__) if e is not None)
        stack.extend(a for a in err.args if isinstance(a, BaseException))
        inner = getattr(err, "reason", None)
        if isinstance(inner, BaseException):
            stack.append(inner)
    return seen


# What a lost engine looks like from a call that was cut: refused, reset, gone, silent.
_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,  # an answer cut off mid-stream
    urllib3.exceptions.ProtocolError,
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected
    requests.exceptions.Timeout,
    ConnectionError,  # refused, reset, broken pipe
    FileNotFoundError,  # the socket file is gone
    socket.timeout,
)


def connection_failed(exc: BaseException) -> bool:
    """Whether an exception from an engine call says the connection failed (rather than
    the engine answering with an error)."""
    chain = _causes(exc)
    if any(isinstance(err, docker.errors.APIError) for err in chain):
        return False
    return any(isinstance(err, _CONNECTION_FAILURES) for err in chain)
