"""volarb's spreadsheet side: the report workbook (openpyxl) and the ``volarb`` command line.

* :mod:`workbook.layout` - the layout map (sheet names, defined names, columns, formats).
* :mod:`workbook.compute` - every figure of the report from the engine (no openpyxl).
* :mod:`workbook.report` - writes and refreshes the report workbook.
* :mod:`workbook.io` - atomic writes, Excel lock files, backups, reading user sheets back.
* :mod:`workbook.recalc` - LibreOffice headless recalculation.
* :mod:`workbook.cli` - ``volarb`` (also ``python -m workbook``).

Importing this package is cheap: submodules import openpyxl and the engine when used.
"""
