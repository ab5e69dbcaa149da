"""standins/mobyvm.py loaded as a module (it is a program, not a package member), and a
free loopback port, for the VM stand-in's self-tests."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "standins" / "mobyvm.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mobyvm", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
