"""Property checks on each kind of storage: generated names, modes, sizes, link graphs and
deep paths go through the probe in one request per example.

Differential where it can be: with the run's reference target, each example also runs on
the same kind of storage there and the two observations must be equal (the reference's
own run checks the Linux model); without one, the target is checked against the model.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from parity.run.target import Target
from suites.verdicts import differential
from suites.volumes.conftest import Mounts
from suites.volumes.test_file_semantics import fnv1a64

NAME_MAX = 255  # bytes: limits.h, path_resolution(7)


def _valid(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "\x00" not in name and 0 < len(name.encode()) <= NAME_MAX


# Any Unicode text but "/" and NUL (exec passes arguments as UTF-8, so names are valid
# UTF-8 by construction); besides short names: names at NAME_MAX in ASCII and in
# multibyte characters, and letters that have a case and a decomposition.
_any_name = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"), min_size=1, max_size=40)
_long_ascii = st.integers(NAME_MAX - 8, NAME_MAX).map(lambda n: "n" * (n - 1) + "Z")
_long_multibyte = st.integers(60, 85).map(lambda n: "é" * n).filter(_valid)  # 2 bytes each in UTF-8, NFC
_cased = st.text(st.sampled_from("aAzZéÉåÅñÑüÜǅǆßẞ\u03a3\u03c3\u03c2"), min_size=1, max_size=8)
names = st.one_of(_any_name, _cased, _long_ascii, _long_multibyte).filter(_valid)


def variants(name: str) -> list[str]:
    """A name and the names that differ from it only by case or Unicode normalisation:
    distinct files on Linux, one file where a platform folds case or normalises."""
    found = [
        name,
        name.swapcase(),
        name.upper(),
        name.lower(),
        unicodedata.normalize("NFC", name),
        unicodedata.normalize("NFD", name),
    ]
    return [v for v in dict.fromkeys(found) if _valid(v)]


def _distinct(candidates: list[str]) -> list[str]:
    return list({n.encode(): n for n in candidates}.values())[:12]


families = st.lists(names, min_size=1, max_size=3).map(lambda ns: _distinct([v for n in ns for v in variants(n)]))
name_lists = st.one_of(st.lists(names, min_size=1, max_size=12).map(_distinct), families)


def _on_both(
    mounts: Mounts,
    reference_mounts: Mounts | None,
    kind: str,
    observe: Callable[[Mounts, str], object],
) -> tuple[object, object | None]:
    """The observation on the target and, when the reference has this storage, there."""
    here = observe(mounts, mounts.folder(kind))
    if reference_mounts is None or kind not in reference_mounts.kinds:
        return here, None
    return here, observe(reference_mounts, reference_mounts.folder(kind))


def _name(reference: Target | None) -> str:
    return reference.name if reference is not None else ""


@given(generated=name_lists)
def test_generated_file_names_are_stored_byte_for_byte(
    mounts: Mounts, reference_mounts: Mounts | None, reference: Target | None, kind: str, generated: list[str]
) -> None:
    """Any name of non-NUL, non-slash bytes up to 255 bytes is stored and listed exactly,
    and names that differ in any byte (case only, NFC against NFD) are different files.

    Source: path_resolution(7) and open(2) (names are byte strings, NAME_MAX 255).
    Level: MUST, https://man7.org/linux/man-pages/man7/path_resolution.7.html
    """

    def stored(on: Mounts, folder: str) -> tuple[list[bool], list[bytes]]:
        results = on.probe(
            *(("open", f"{folder}/{name}", "O_WRONLY|O_CREAT", "0644") for name in generated), ("readdir", folder)
        )
        return [r.ok for r in results[:-1]], sorted(n.encode("latin-1") for n in results[-1].get("names", []))

    here, there = _on_both(mounts, reference_mounts, kind, stored)
    model = ([True] * len(generated), sorted(name.encode() for name in generated))
    differential(here, generated, reference=there, model=model, reference_name=_name(reference))


@given(modes=st.lists(st.integers(0, 0o7777), min_size=1, max_size=16))
def test_generated_modes_are_kept_exactly(
    mounts: Mounts, reference_mounts: Mounts | None, reference: Target | None, kind: str, modes: list[int]
) -> None:
    """chmod by root sets all twelve permission bits exactly as given, for any mode.

    Source: chmod(2) (root has CAP_FSETID: setgid is not cleared), inode(7).
    Level: MUST, https://man7.org/linux/man-pages/man2/chmod.2.html
    """

    def kept(on: Mounts, folder: str) -> list[object]:
        ops: list[tuple[str, ...]] = []
        for index, mode in enumerate(modes):
            ops += [
                ("write", f"{folder}/{index}", "O_WRONLY|O_CREAT", "0600", ""),
                ("chmod", f"{folder}/{index}", f"{mode:o}"),
                ("stat", f"{folder}/{index}"),
            ]
        return [stat.get("perm") for stat in on.probe(*ops)[2::3]]

    here, there = _on_both(mounts, reference_mounts, kind, kept)
    differential(here, modes, reference=there, model=modes, reference_name=_name(reference))


@given(files=st.lists(st.tuples(st.integers(0, 256 * 1024), st.integers(0, 64 * 1024)), min_size=1, max_size=3))
def test_generated_sizes_and_holes_read_back_exactly(
    mounts: Mounts,
    reference_mounts: Mounts | None,
    reference: Target | None,
    kind: str,
    files: list[tuple[int, int]],
) -> None:
    """A file written at any offset with any length has size offset + length and reads
    back as zeros up to the offset, then exactly the bytes written.

    Source: pwrite(2), lseek(2) ("holes ... read as null bytes"), stat(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/pwrite.2.html
    """

    def read_back(on: Mounts, folder: str) -> list[tuple[object, object]]:
        ops: list[tuple[str, ...]] = []
        for index, (offset, length) in enumerate(files):
            ops += [("fill", f"{folder}/{index}", str(offset), str(length)), ("checksum", f"{folder}/{index}")]
        return [(s.get("size"), s.get("fnv1a64")) for s in on.probe(*ops)[1::2]]

    here, there = _on_both(mounts, reference_mounts, kind, read_back)
    # an empty write extends nothing: the file stays empty
    model = [(offset + length, fnv1a64(length, offset)) if length else (0, fnv1a64(0)) for offset, length in files]
    differential(here, files, reference=there, model=model, reference_name=_name(reference))


@given(graph=st.lists(st.integers(0, 3), min_size=0, max_size=10))
def test_generated_hard_link_graphs_count_links(
    mounts: Mounts, reference_mounts: Mounts | None, reference: Target | None, kind: str, graph: list[int]
) -> None:
    """For four files and any set of hard links to them, each file's st_nlink is one plus
    the number of links made to it, and all its names share one inode.

    Source: link(2), inode(7) (st_nlink).
    Level: MUST, https://man7.org/linux/man-pages/man2/link.2.html
    """

    def linked(on: Mounts, folder: str) -> tuple[list[object], list[int]]:
        ops: list[tuple[str, ...]] = [("write", f"{folder}/f{i}", "O_WRONLY|O_CREAT", "0644", "") for i in range(4)]
        ops += [("link", f"{folder}/f{target}", f"{folder}/l{n}") for n, target in enumerate(graph)]
        ops += [("stat", f"{folder}/f{i}") for i in range(4)]
        ops += [("stat", f"{folder}/l{n}") for n in range(len(graph))]
        results = on.probe(*ops)
        files, links = results[4 + len(graph) : 8 + len(graph)], results[8 + len(graph) :]
        inodes = [f.get("ino") for f in files]
        # which of the four files each link is (inode numbers differ between engines)
        return [f.get("nlink") for f in files], [
            inodes.index(x) if x in inodes else -1 for x in (link.get("ino") for link in links)
        ]

    here, there = _on_both(mounts, reference_mounts, kind, linked)
    counts = Counter(graph)
    model = ([1 + counts[i] for i in range(4)], list(graph))
    differential(here, graph, reference=there, model=model, reference_name=_name(reference))


_component = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_é"), min_size=1, max_size=60
)


@given(
    components=st.lists(_component.filter(_valid), min_size=1, max_size=40).filter(
        lambda cs: len("/".join(cs).encode()) <= 2048
    )
)
def test_generated_deep_paths_resolve(
    mounts: Mounts, reference_mounts: Mounts | None, reference: Target | None, kind: str, components: list[str]
) -> None:
    """Folders nested to any depth, with a path of up to 2048 bytes below the mount, can
    be made one inside the other, and a file at the bottom is written and read back.

    Source: path_resolution(7), mkdir(2); PATH_MAX is 4096 bytes on Linux (limits.h).
    Level: MUST, https://man7.org/linux/man-pages/man7/path_resolution.7.html
    """

    def resolved(on: Mounts, folder: str) -> tuple[list[bool], bool, str | None]:
        paths = [folder + "/" + "/".join(components[: depth + 1]) for depth in range(len(components))]
        results = on.probe(
            *(("mkdir", path, "755") for path in paths),
            ("write", f"{paths[-1]}/file", "O_WRONLY|O_CREAT", "0644", "646565"),
            ("read", f"{paths[-1]}/file"),
        )
        return [r.ok for r in results[:-2]], results[-2].ok, results[-1].get("data")

    here, there = _on_both(mounts, reference_mounts, kind, resolved)
    model = ([True] * len(components), True, "dee")
    differential(here, components, reference=there, model=model, reference_name=_name(reference))
