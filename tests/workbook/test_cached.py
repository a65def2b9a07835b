"""Cached values in formula cells (workbook.cached): each value type, the default build, atomic saves."""

from __future__ import annotations

import zipfile

import openpyxl
import pandas as pd
import pytest
from conftest import run_cli

from workbook import cached


def _small(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "In puts"  # a sheet name that needs quotes
    ws["A1"] = 2
    ws["A2"] = "=A1*3"
    ws["A3"] = '=IF(A1>1,"big & <bold>","small")'
    ws["A4"] = "=A1>1"
    ws["A5"] = "=1/0"
    ws["A6"] = "=B9"  # an empty cell: Excel gives 0
    ws["A7"] = "=SUM(A1:A2)/4"
    out = wb.create_sheet("Out")
    out["B2"] = "='In puts'!A2+Two"
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["Two"] = DefinedName("Two", attr_text="'In puts'!$A$1")
    wb.save(path)


def test_every_value_type_is_cached_as_excel_stores_it(tmp_path):
    path = tmp_path / "small.xlsx"
    _small(path)
    rep = cached.add_cached_values(path)
    assert rep.filled == 7 and rep.missing == [] and rep.errors == ["In puts!A5 #DIV/0!"]
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb["In puts"]
    # 2 x 3 = 6; text kept with its XML characters; TRUE; the error; 0 for an empty cell; (2 + 6) / 4 = 2
    assert [ws[f"A{r}"].value for r in range(2, 8)] == [6, "big & <bold>", True, "#DIV/0!", 0, 2]
    assert wb["Out"]["B2"].value == 8  # 6 + Two (= 2), across sheets through a defined name
    formulas = openpyxl.load_workbook(path)
    assert formulas["In puts"]["A2"].value == "=A1*3"  # the formulas are kept
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>A1&gt;1</f><v>1</v>" in xml and 't="b"' in xml and 't="e"' in xml and 't="str"' in xml
    df = pd.read_excel(path, sheet_name="In puts", header=None)
    assert df.iloc[1, 0] == 6


def test_default_build_reads_in_pandas_and_is_saved_atomically(tmp_path, capsys, cached_values, monkeypatch):
    out = tmp_path / "report.xlsx"
    code, _, err = run_cli(capsys, "build", "--out", out, "--paths", 200, "--seed", 7)
    assert code == 0, err
    formulas = openpyxl.load_workbook(out)
    # in the file: every formula cell has a <v>, empty only for the empty text "" (t="str")
    import re

    with zipfile.ZipFile(out) as z:
        parts = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        cells = [
            m
            for n in parts
            for m in re.findall(
                r"<c [^>]*>(?:<f>.*?</f>)<v>[^<]*</v></c>|<c [^>]*><f>.*?</f></c>",
                z.read(n).decode(),
                flags=re.S,
            )
        ]
    assert len(cells) > 500
    uncached = [c for c in cells if "<v></v>" in c and 't="str"' not in c or "<v>" not in c]
    assert not uncached, uncached[:5]
    risk = pd.read_excel(out, sheet_name="Risk", header=None)
    row = risk.index[risk[0].astype(str).str.startswith("Premium collected (net)")][0]
    # the plan's 38 puts: 5x0.50 + 5x0.70 + 5x0.98 + 17x1.09 + 2x1.22 + 2x2.45 + 2x3.36 = 43.49 a share x 100
    # = 4349 received, less the example's illustrative calls paid: 2x1.95 + 2.10 + 2x1.60 + 2.90 = 12.10 x 100
    assert risk.iloc[row, 1] == pytest.approx(4349.0 - 1210.0)
    # a failing evaluation leaves the previous report intact and no temporary file behind
    before = out.read_bytes()

    def boom(path, values=None):
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(cached, "add_cached_values", boom)
    with pytest.raises(RuntimeError):
        cached.save_report(formulas, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


def test_cli_without_the_step_leaves_formulas_uncached(tmp_path, capsys):
    # the suite's CLI runs skip the step (VOLARB_NO_CACHED_VALUES=1, tests/conftest.py): the plain save
    out = tmp_path / "plain.xlsx"
    code, _, err = run_cli(capsys, "build", "--out", out, "--paths", 200)
    assert code == 0, err
    values = openpyxl.load_workbook(out, data_only=True)
    formulas = openpyxl.load_workbook(out)
    cells = [
        (ws.title, c.coordinate)
        for ws in formulas.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert cells and all(values[s][a].value is None for s, a in cells)
