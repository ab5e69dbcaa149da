"""``python -m parity.certification``: see parity/certification/cli.py."""

import sys

from parity.certification.cli import COMMANDS, main

__all__ = ["COMMANDS"]

if __name__ == "__main__":
    sys.exit(main())
