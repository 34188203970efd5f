"""``python -m seqlib.copy_task``: see :mod:`seqlib.copy_task.cli`."""

import sys

from seqlib.copy_task.cli import main

sys.exit(main())
