"""``python -m workbook``: the ``volarb`` command line."""

import sys

from workbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
