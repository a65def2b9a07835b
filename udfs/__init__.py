"""volarb's Excel add-in: the ``VA_`` user-defined functions (xlwings) over the engine.

* :mod:`udfs.functions` - the functions Excel imports (``UDF Modules = udfs.functions``).
* :mod:`udfs._boundary` - the single boundary: argument normalizers and the error wrapper.

This package imports :mod:`engine` and the data-only layout map :mod:`workbook.layout`, nothing
else of :mod:`workbook`.
"""
