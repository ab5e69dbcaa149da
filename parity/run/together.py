"""Checks that each observe a new container created with options of their own, sharing one
container where their options can go together (several --ulimit, several --sysctl).

The shared container has the union of the options and runs every check's probe ops as
its main process, once. Where it cannot run (the engine refuses one option, a kernel
lacks a sysctl, the probe fails), each check observes alone, in a container with only
its own options: one check's option never decides another check's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import docker.errors

from parity.run.observe import main_process
from parity.run.resources import ResourceScope
from parity.workload.probe import Observation, Op, ProbeError

# What one check observes: the probe ops (which only read) and its container's options.
Request = tuple[Sequence[Op], Mapping[str, Any]]
Alone = Callable[..., list[Observation]]  # the check's own observe(*ops, **options)


def union(options: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several checks' container options as one: lists are joined, mappings merged; any
    other option, or a mapping's key, must have the same value wherever it is given."""
    joined: dict[str, Any] = {}
    for each in options:
        for key, value in each.items():
            if key not in joined:
                joined[key] = list(value) if isinstance(value, list) else value
            elif isinstance(value, list):
                joined[key] = [*joined[key], *value]
            elif isinstance(value, Mapping):
                clash = sorted(k for k in value if k in joined[key] and joined[key][k] != value[k])
                if clash:
                    raise ValueError(f"option {key}: {', '.join(clash)} given two values")
                joined[key] = {**joined[key], **value}
            elif joined[key] != value:
                raise ValueError(f"option {key}: {joined[key]!r} and {value!r} cannot go together")
    return joined


class Together:
    """The observations of several checks, from one container where their options go
    together (``observe(key, alone)``, on first use), else from each check's own."""

    def __init__(self, new_scope: Callable[[], ResourceScope], requests: Mapping[str, Request], timeout: float) -> None:
        self.options = union(options for _, options in requests.values())  # a clash is the suite's error
        self.new_scope = new_scope
        self.requests = dict(requests)
        self.timeout = timeout
        self.scope: ResourceScope | None = None
        self.observed: dict[str, list[Observation]] | None = None
        self.apart: str | None = None  # why the checks observe alone

    def observe(self, key: str, alone: Alone) -> list[Observation]:
        if self.observed is None and self.apart is None:
            self._run_together()
        if self.observed is not None:
            return self.observed[key]
        ops, options = self.requests[key]
        print(f"observed alone: the options of {', '.join(self.requests)} did not run together: {self.apart}")
        return alone(*ops, **options)

    def _run_together(self) -> None:
        keys = list(self.requests)
        ops = [op for key in keys for op in self.requests[key][0]]
        self.scope = self.scope or self.new_scope()
        try:
            observed, _ = main_process(self.scope, ops, timeout=self.timeout, **self.options)
        except (docker.errors.DockerException, ProbeError) as exc:
            self.apart = f"{type(exc).__name__}: {str(exc)[:500]}"
            return
        self.observed = {}
        for key in keys:
            count = len(self.requests[key][0])
            self.observed[key], observed = observed[:count], observed[count:]
