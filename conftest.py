"""Wires the parity plugins; the behaviour lives in plugins/ and parity/."""

pytest_plugins = [
    "plugins.matrix",
    "plugins.resources",
    "plugins.launch",
    "plugins.targets",
    "plugins.workload",
    "plugins.ahead",
    "plugins.requirements",
    "plugins.expectations",
    "plugins.hypothesis_profiles",
    "plugins.reports",
    "plugins.coverage",
]
