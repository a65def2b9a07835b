"""The live template: formulas name real UDFs with valid argument counts; the committed file is
the generator's output; spill anchors carry Excel's dynamic-array flag; the xlsm keeps xlwings' VBA."""

from __future__ import annotations

import inspect
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

import udfs.functions as F
from workbook import layout as L
from workbook.template import TEMPLATE_SHEETS, XLWINGS_CONF, template_formulas, write_template

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "templates" / "volarb-template.xlsx"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("tpl") / "volarb-template.xlsx")


def _calls(formula: str):
    """(name, argument count) of every VA_ call, counting top-level commas inside its parens."""
    for m in re.finditer(r"\b(VA_[A-Z_]+)\(", formula):
        depth, args, i, quoted = 1, 1, m.end(), False
        if formula[i] == ")":
            yield m.group(1), 0
            continue
        while depth:
            ch = formula[i]
            quoted = not quoted if ch == '"' else quoted
            if not quoted:
                depth += ch == "("
                depth -= ch == ")"
                args += ch == "," and depth == 1
            i += 1
        yield m.group(1), args


def test_every_va_formula_names_a_udf_with_a_valid_argument_count(generated):
    wb = openpyxl.load_workbook(generated)
    seen = set()
    for sheet, ref, text in template_formulas(wb):
        for name, n in _calls(text):
            assert hasattr(F, name), f"{sheet}!{ref}: {name} is not a UDF"
            params = inspect.signature(getattr(F, name)).parameters.values()
            required = sum(p.default is p.empty for p in params)
            assert required <= n <= len(params), (
                f"{sheet}!{ref}: {name} takes {required}..{len(params)}, got {n}"
            )
            seen.add(name)
    assert {
        "VA_LADDER",
        "VA_ALLOCATE",
        "VA_STRIKE_ALLOCATION",
        "VA_HEDGE_LADDER",
        "VA_KELLY",
        "VA_VAR",
    } <= seen


def test_sheets_names_and_conf(generated):
    wb = openpyxl.load_workbook(generated)
    assert wb.sheetnames == [*TEMPLATE_SHEETS, "xlwings.conf"]
    for name in L.REQUIRED_NAMES:
        assert name in wb.defined_names, name
    conf = wb["xlwings.conf"]
    assert [(conf.cell(i, 1).value, conf.cell(i, 2).value) for i in range(1, len(XLWINGS_CONF) + 1)] == list(
        XLWINGS_CONF
    )


def test_conf_sheet_lists_no_blank_key(generated):
    """xlwings' GetConfig answers from the sheet for every key listed in column A, even with a blank
    value (addin/Config.bas: ``If GetConfigFromSheet(wb).Exists(key) Then GetConfig = ...Item(key)``),
    so a blank ``Interpreter_Win`` / ``Conda Path`` / ``PYTHONPATH`` row would hide the ribbon's."""
    conf = openpyxl.load_workbook(generated)["xlwings.conf"]
    rows = [
        (r[0], r[1] if len(r) > 1 else None) for r in conf.iter_rows(values_only=True) if r[0] is not None
    ]
    assert rows == [("UDF Modules", "udfs.functions")]
    assert all(v not in (None, "") for _, v in rows)


def test_spill_anchors_are_dynamic_arrays(generated):
    with zipfile.ZipFile(generated) as z:
        assert "xl/metadata.xml" in z.namelist()
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    from openpyxl.utils import get_column_letter

    anchor = f"{get_column_letter(len(L.POSITION_INPUT_COLUMNS) + 1)}{L.REPORT_HEADER_ROW}"
    assert re.search(rf'<c r="{anchor}" cm="1"><f t="array" ref="{anchor}">VA_LADDER\(', sheet)


def _parts(path: Path):
    wb = openpyxl.load_workbook(path)
    cells = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    cells[(ws.title, c.coordinate)] = getattr(c.value, "text", c.value)
    return wb.sheetnames, {k: v.attr_text for k, v in wb.defined_names.items()}, cells


def test_committed_template_is_the_generator_output(generated):
    # regenerate with `python -m workbook.template` ... or `volarb template --out templates/volarb-template.xlsx`
    assert COMMITTED.exists(), "run: volarb template --out templates/volarb-template.xlsx"
    want, got = _parts(COMMITTED), _parts(generated)
    assert got[0] == want[0]
    assert got[1] == want[1]
    diff = {
        k: (want[2].get(k), got[2].get(k))
        for k in set(want[2]) | set(got[2])
        if want[2].get(k) != got[2].get(k)
    }
    assert not diff, f"{len(diff)} cells differ, e.g. {sorted(diff.items())[:5]}"


def test_macro_variant_keeps_xlwings_vba(tmp_path):
    out = write_template(tmp_path / "t.xlsm", macro=True)
    with zipfile.ZipFile(out) as z:
        assert "xl/vbaProject.bin" in z.namelist()
    assert openpyxl.load_workbook(out, keep_vba=True).sheetnames == [*TEMPLATE_SHEETS, "xlwings.conf"]
