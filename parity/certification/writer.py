"""Writing one target's JUnit file: its testcases, its suite properties, the xunit2 dialect.

The file is xunit2 (Jenkins, Azure DevOps): times in seconds with three decimals, skips
typed as pytest types them (``pytest.skip``, ``pytest.xfail``), no per-test properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from junitparser import JUnitXml, TestCase, TestSuite

# What XML 1.0 cannot carry (control characters but tab, newline and carriage return; lone
# surrogates, which is how Python keeps bytes that were not UTF-8; U+FFFE and U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """``text`` with what XML cannot carry escaped visibly (``\\x1b``), so that no workload
    output can make a report unwritable."""
    return _NOT_XML.sub(_visible, text)


def report_name(target: str, build: str) -> str:
    """junit-<target>-<build>.xml, with the build made safe for a file name."""
    return f"junit-{target}-{re.sub(r'[^A-Za-z0-9._-]+', '_', build)}.xml"


def empty_case(nodeid: str) -> TestCase:
    """An empty testcase for a pytest node id, named as pytest's own junitxml names it."""
    path, _, rest = nodeid.partition("::")
    parts = rest.split("::")
    classname = ".".join([path.removesuffix(".py").replace("/", "."), *parts[:-1]])
    return TestCase(parts[-1], classname=classname)


def write_suite(
    path: Path,
    *,
    name: str,
    properties: Mapping[str, str],
    cases: Iterable[TestCase],
    seconds: float,
    timestamp: str,
) -> None:
    """Write one suite as a JUnit file."""
    suite = TestSuite(xml_text(name))
    for key, value in properties.items():
        suite.add_property(xml_text(key), xml_text(value))
    for case in cases:
        suite.append(case)  # type: ignore[no-untyped-call]  # add_testcase recounts the suite per case
    suite.update_statistics()  # type: ignore[no-untyped-call]
    suite.time = round(seconds, 3)
    suite.timestamp = timestamp
    document = JUnitXml()
    document.add_testsuite(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.write(str(path), pretty=True)
