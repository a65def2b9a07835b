"""``python -m workbook``: the ``volarb`` command line."""

import sys

from workbook.cli import main

sys.exit(main())
