"""Property checks on each kind of storage: generated names, modes, sizes and link graphs
go through the probe in one exec per example and come back exactly as Linux defines."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from suites.volumes.conftest import Mounts
from suites.volumes.test_file_semantics import fnv1a64

# Any Unicode text but "/" and NUL, at most 255 bytes, not "." or ".." (exec passes
# arguments as UTF-8, so names are valid UTF-8 by construction).
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"), min_size=1, max_size=40).filter(
    lambda name: name not in (".", "..") and len(name.encode()) <= 255
)


@given(generated=st.lists(names, min_size=1, max_size=12, unique_by=lambda name: name.encode()))
def test_generated_file_names_are_stored_byte_for_byte(mounts: Mounts, kind: str, generated: list[str]) -> None:
    """Any name of non-NUL, non-slash bytes up to 255 bytes is stored and listed exactly,
    and names that differ in any byte (case, normalisation) are different files.

    Source: path_resolution(7) and open(2) (names are byte strings, NAME_MAX 255).
    """
    folder = mounts.folder(kind)
    results = mounts.probe(
        *(("open", f"{folder}/{name}", "O_WRONLY|O_CREAT", "0644") for name in generated), ("readdir", folder)
    )
    assert [r.ok for r in results[:-1]] == [True] * len(generated)
    assert [n.encode("latin-1") for n in results[-1]["names"]] == sorted(name.encode() for name in generated)


@given(modes=st.lists(st.integers(0, 0o7777), min_size=1, max_size=16))
def test_generated_modes_are_kept_exactly(mounts: Mounts, kind: str, modes: list[int]) -> None:
    """chmod by root sets all twelve permission bits exactly as given, for any mode.

    Source: chmod(2) (root has CAP_FSETID: setgid is not cleared), inode(7).
    """
    folder = mounts.folder(kind)
    ops: list[tuple[str, ...]] = []
    for index, mode in enumerate(modes):
        ops += [
            ("write", f"{folder}/{index}", "O_WRONLY|O_CREAT", "0600", ""),
            ("chmod", f"{folder}/{index}", f"{mode:o}"),
            ("stat", f"{folder}/{index}"),
        ]
    stats = mounts.probe(*ops)[2::3]
    assert [stat["perm"] for stat in stats] == modes


@given(files=st.lists(st.tuples(st.integers(0, 256 * 1024), st.integers(0, 64 * 1024)), min_size=1, max_size=3))
def test_generated_sizes_and_holes_read_back_exactly(mounts: Mounts, kind: str, files: list[tuple[int, int]]) -> None:
    """A file written at any offset with any length has size offset + length and reads
    back as zeros up to the offset, then exactly the bytes written.

    Source: pwrite(2), lseek(2) ("holes ... read as null bytes"), stat(2).
    """
    folder = mounts.folder(kind)
    ops: list[tuple[str, ...]] = []
    for index, (offset, length) in enumerate(files):
        ops += [("fill", f"{folder}/{index}", str(offset), str(length)), ("checksum", f"{folder}/{index}")]
    sums = mounts.probe(*ops)[1::2]
    # an empty write extends nothing: the file stays empty
    expected = [(offset + length, fnv1a64(length, offset)) if length else (0, fnv1a64(0)) for offset, length in files]
    assert [(s["size"], s["fnv1a64"]) for s in sums] == expected


@given(graph=st.lists(st.integers(0, 3), min_size=0, max_size=10))
def test_generated_hard_link_graphs_count_links(mounts: Mounts, kind: str, graph: list[int]) -> None:
    """For four files and any set of hard links to them, each file's st_nlink is one plus
    the number of links made to it, and all its names share one inode.

    Source: link(2), inode(7) (st_nlink).
    """
    folder = mounts.folder(kind)
    ops: list[tuple[str, ...]] = [("write", f"{folder}/f{i}", "O_WRONLY|O_CREAT", "0644", "") for i in range(4)]
    ops += [("link", f"{folder}/f{target}", f"{folder}/l{n}") for n, target in enumerate(graph)]
    ops += [("stat", f"{folder}/f{i}") for i in range(4)]
    ops += [("stat", f"{folder}/l{n}") for n in range(len(graph))]
    results = mounts.probe(*ops)
    files, links = results[4 + len(graph) : 8 + len(graph)], results[8 + len(graph) :]
    counts = Counter(graph)
    assert [f["nlink"] for f in files] == [1 + counts[i] for i in range(4)]
    assert [link["ino"] for link in links] == [files[target]["ino"] for target in graph]
