"""`python -m xopipe.diff A B`: the xopipe-diff command."""

import sys

from xopipe.diff.cli import main

sys.exit(main())
