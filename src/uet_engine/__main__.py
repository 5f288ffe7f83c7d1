"""``python -m uet_engine`` is the ``uet`` command."""

import sys

from uet_engine.cli import main

# The guard matters: worker processes started by "spawn" (macOS, Windows) import this module again.
if __name__ == "__main__":
    sys.exit(main())
