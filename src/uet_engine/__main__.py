"""``python -m uet_engine`` is the ``uet`` command."""

import sys

from uet_engine.cli import main

sys.exit(main())
