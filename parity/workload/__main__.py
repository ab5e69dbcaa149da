"""``python -m parity.workload save|load``: move the workload image between machines
without a registry (a build job saves it, Windows agents load it)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import docker
import docker.errors

from parity.workload.image import ZIG_TARGETS, WorkloadError, build, ensure_loaded, from_archive, host_arch

COMMANDS = ("save", "load")  # python -m parity.workload <command>


def main(argv: list[str] | None = None) -> int:
    """``python -m parity.workload save PATH [--arch A]``: build the workload and write
    its archive; ``python -m parity.workload load PATH``: load an archive into the
    engine the Docker CLI would use and check its id. Both print the image id."""
    parser = argparse.ArgumentParser(prog="python -m parity.workload", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="build the workload and write its docker-save archive to PATH")
    save.add_argument("path", type=Path)
    save.add_argument("--arch", default=host_arch(), choices=sorted(ZIG_TARGETS))
    load = commands.add_parser("load", help="load the archive at PATH into the engine and check its image id")
    load.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "save":
            built = build(args.arch)
            args.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built.archive, args.path)
            workload = from_archive(args.path)
            if workload.image_id != built.image_id:
                raise WorkloadError(f"{args.path}: image id {workload.image_id}, built {built.image_id}")
        else:
            workload = from_archive(args.path)
            client = docker.from_env(timeout=300)
            try:
                ensure_loaded(client, workload)
            finally:
                client.close()
    except (WorkloadError, docker.errors.DockerException) as exc:
        print(f"parity.workload {args.command}: {exc}", file=sys.stderr)
        return 1
    print(workload.image_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
