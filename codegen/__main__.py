"""``python -m codegen [--check]``."""

import sys

from codegen.generate import main

sys.exit(main())
