"""The live Excel template: the report's sheets with ``VA_`` formulas in place of model values.

``volarb template`` calls :func:`write_template`.  Inputs and the Positions input columns are
written by the report's own writers (same cells, same defined names); every model cell is a
``VA_`` formula over those names and the positions range, so editing a position, the spot or the
vol in Excel reprices the book once the xlwings add-in has imported ``udfs.functions``.

Table results are dynamic-array formulas (they spill in Excel 365 / Excel on the web): the
anchor cell carries the ``cm`` dynamic-array flag and ``xl/metadata.xml`` is added, as Excel
itself and XlsxWriter write them; without it Excel would show ``=@VA_LADDER(...)`` (one cell).

The ``xlwings.conf`` sheet holds one key, ``UDF Modules = udfs.functions``.  Any key listed there
overrides the add-in's setting even when its value is blank (xlwings' ``GetConfig``), so the
interpreter, ``PYTHONPATH`` and Conda keys are not listed: the ribbon's settings apply.
``macro=True`` builds an ``.xlsm`` on the user's machine from the quickstart workbook shipped
inside the installed xlwings package, keeping its VBA module; no VBA is stored in this repo.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from workbook import layout as L

__all__ = [
    "write_template",
    "TEMPLATE_SHEETS",
    "XLWINGS_CONF",
    "POSITIONS_CAPACITY",
    "quickstart_path",
    "template_formulas",
    "CONFIG_NAME",
]

TEMPLATE_SHEETS = (
    L.SHEET_INPUTS,
    L.SHEET_POSITIONS,
    L.SHEET_LADDER,
    L.SHEET_PLAN,
    L.SHEET_HEDGES,
    L.SHEET_RISK,
    L.SHEET_ASSIGNMENT,
)
POSITIONS_CAPACITY = 200  # rows of the Positions range the formulas read (blank rows give blank rows)
#: The ``xlwings.conf`` sheet (key in column A from A1, value in B).  Only keys with a value: the
#: add-in's ``GetConfig`` answers from the sheet whenever the key is listed, even with a blank value,
#: so a blank ``Interpreter_Win`` or ``Conda Path`` row would hide the user's ribbon settings.
XLWINGS_CONF = (("UDF Modules", "udfs.functions"),)
_MARKET_ARGS = "Spot, Vol, Rate, DividendYield, ValuationDate"
#: Defined name over the Inputs key rows, columns Value, Unit, Config key: the ``cfg`` argument of
#: every VA_ function whose result depends on config values beyond its own arguments.
CONFIG_NAME = "ConfigTable"
# Literal blank/default arguments before ``cfg``: the formulas evaluator reads an omitted
# argument (``f(a, , b)``) as 0, so the template spells them out ("" is a blank argument).
_STYLE_HDR = '"american", TRUE'


def quickstart_path() -> Path:
    """The quickstart ``.xlsm`` inside the installed xlwings package (its VBA is the add-in glue)."""
    import xlwings

    path = Path(xlwings.__file__).parent / "quickstart.xlsm"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the installed xlwings has no quickstart workbook")
    return path


def _spill(ws: Any, ref: str, formula: str, anchors: list[tuple[str, str]]) -> None:
    """A dynamic-array formula at ``ref`` (flagged after saving, see :func:`_flag_dynamic`)."""
    from openpyxl.worksheet.formula import ArrayFormula

    ws[ref] = ArrayFormula(ref, formula)
    anchors.append((ws.title, ref))


def _positions(wb: Any, data: Any, anchors: list) -> str:
    from workbook.report.positions import write_positions_inputs

    ws = wb.create_sheet(L.SHEET_POSITIONS)
    write_positions_inputs(ws, data)
    ws.protection.sheet = False
    last_col = L.POSITION_INPUT_COLUMNS.__len__()
    end = L.REPORT_FIRST_ROW + POSITIONS_CAPACITY - 1
    rng = f"'{L.SHEET_POSITIONS}'!$A${L.REPORT_HEADER_ROW}:${_col(last_col)}${end}"
    _name(wb, "PositionsTable", rng)
    _spill(
        ws,
        f"{_col(last_col + 1)}{L.REPORT_HEADER_ROW}",
        f"=VA_LADDER(PositionsTable, {_MARKET_ARGS}, {_STYLE_HDR}, {CONFIG_NAME})",
        anchors,
    )
    # PremiumCollected: the premium_total column of the VA_LADDER spill over the option rows
    # (a stock row's premium_total is the cost of its shares, not premium)
    pcol = _col(last_col + 1 + L.LADDER_KEYS.index("premium_total"))
    kcol = _col(1 + [c.key for c in L.POSITION_INPUT_COLUMNS].index("kind"))
    first = L.REPORT_FIRST_ROW
    ws.cell(L.REPORT_HEADER_ROW, last_col + len(L.LADDER_KEYS) + 2, "Premium collected $ (options)")
    ws.cell(
        first,
        last_col + len(L.LADDER_KEYS) + 2,
        f'=SUMIFS({pcol}{first}:{pcol}{end}, {kcol}{first}:{kcol}{end}, "<>stock")',
    )
    _name(
        wb,
        "PremiumCollected",
        f"'{L.SHEET_POSITIONS}'!${_col(last_col + len(L.LADDER_KEYS) + 2)}${L.REPORT_FIRST_ROW}",
    )
    return pcol


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _name(wb: Any, name: str, ref: str) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def _ladder(wb: Any, cfg: Any) -> None:
    """Per ladder strike: contracts and P&L as SUMIFS over the Positions spill columns."""

    ws = wb.create_sheet(L.SHEET_LADDER)
    for j, (h, key, _, _) in enumerate(L.LADDER_COLUMNS, start=1):
        if key != "status":  # the report's model status has no UDF; the template leaves it out
            ws.cell(L.HEADER_ROW, j, h)
    n_in = len(L.POSITION_INPUT_COLUMNS)
    p = f"'{L.SHEET_POSITIONS}'!"
    end = L.REPORT_FIRST_ROW + POSITIONS_CAPACITY - 1

    def pc(key: str) -> str:
        c = (
            _col(n_in + 1 + L.LADDER_KEYS.index(key))
            if key in L.LADDER_KEYS
            else _col(1 + [k for _, k, _, _ in L.POSITION_INPUT_COLUMNS].index(key))
        )
        return f"{p}${c}${L.REPORT_FIRST_ROW}:${c}${end}"

    short_put = f'{pc("strike")}, A{{r}}, {pc("kind")}, "put", {pc("side")}, "short"'
    last = L.FIRST_ROW + len(cfg.strikes.strikes) - 1
    for i in range(len(cfg.strikes.strikes)):
        r = L.FIRST_ROW + i
        crit = short_put.format(r=r)
        ws.cell(r, 1, f"=INDEX({L.NAME_LADDER_STRIKES}, {i + 1})")
        ws.cell(r, 2, f"=SUMIFS({pc('contracts')}, {crit})")
        ws.cell(r, 3, f"=SUMIFS({pc('premium_total')}, {crit})")
        ws.cell(r, 4, f"=-SUMIFS({pc('value')}, {crit})")  # cost to close: positive for shorts
        ws.cell(r, 5, f"=SUMIFS({pc('unrealized_pnl')}, {crit})")
        ws.cell(r, 6, f"=IF(SUM($B${L.FIRST_ROW}:$B${last})=0, 0, B{r}/SUM($B${L.FIRST_ROW}:$B${last}))")
        ws.cell(r, 7, f"=A{r}/Spot")
        ws.cell(r, 8, f"=SUMIFS({pc('obligation')}, {crit})")
        # contract-weighted prob ITM of the short puts at this strike (as the report's ladder);
        # SUMPRODUCT's separate arguments read the spill's blank rows ("") as 0.  The criteria
        # are multiplied, not written --(...): the formulas evaluator reads --TRUE as 0
        ws.cell(
            r,
            9,
            f'=IF(B{r}=0, "", SUMPRODUCT(({pc("strike")}=A{r})*({pc("kind")}="put")*'
            f'({pc("side")}="short"), {pc("contracts")}, {pc("prob_itm")})/B{r})',
        )


def _plan(wb: Any, cfg: Any, anchors: list) -> None:
    from engine.plan.allocation import put_expiry

    ws = wb.create_sheet(L.SHEET_PLAN)
    _spill(ws, "A1", "=VA_ALLOCATE(PremiumCollected, MonthlyAddition, CallShare)", anchors)
    for name, row in (("CallBudget", 2), ("PutPremiumBudget", 3), ("PutBudget", 4), ("CompoundingFactor", 5)):
        _name(wb, name, f"'{L.SHEET_PLAN}'!$B${row}")
    _name(wb, "PlanPremium", f"'{L.SHEET_PLAN}'!$B$8")
    ws["A7"], ws["B7"] = "New put expiry", put_expiry(cfg)
    ws["B7"].number_format = L.FMT_DATE
    _name(wb, "NewPutExpiry", f"'{L.SHEET_PLAN}'!$B$7")
    ws["A8"], ws["B8"] = "Premium for the plan $", "=PremiumCollected"
    ws["A9"], ws["B9"] = "Hedge budget $", "=IF(UseDynamicRatio, PlanPremium*HedgeRatio, CallBudget)"
    _name(wb, "HedgeBudget", f"'{L.SHEET_PLAN}'!$B$9")
    n = len(cfg.strikes.strikes)
    ws["K11"] = "Premium $/sh (model)"
    _spill(
        ws,
        "K12",
        f'=VA_PRICE(Spot, {L.NAME_LADDER_STRIKES}, NewPutExpiry, Vol, "put", Rate, DividendYield, ValuationDate)',
        anchors,
    )
    _name(wb, "LadderPremiums", f"'{L.SHEET_PLAN}'!$K$12:$K${11 + n}")
    _spill(
        ws,
        "A11",
        f"=VA_STRIKE_ALLOCATION(PutBudget, {L.NAME_LADDER_STRIKES}, {L.NAME_LADDER_WEIGHTS}, "
        f"LadderPremiums, Spot, CapitalModel, TRUE, {CONFIG_NAME}, BuyingPower)",
        anchors,
    )


def _hedges(wb: Any, data: Any, anchors: list) -> None:
    ws = wb.create_sheet(L.SHEET_HEDGES)
    ws["A1"], ws["B1"] = (
        "Hedge ratio",
        f"=VA_HEDGE_RATIO(PortfolioValue, IVPercentile, SqueezeProbability, {CONFIG_NAME})",
    )
    _name(wb, "HedgeRatio", f"'{L.SHEET_HEDGES}'!$B$1")
    from workbook.report.inputs import table_rows

    rows = table_rows(wb[L.SHEET_INPUTS])["hedge"]
    _name(wb, "HedgeRungs", f"'{L.SHEET_INPUTS}'!$A${rows[0]}:$C${rows[-1]}")
    _spill(
        ws,
        "A3",
        "=VA_HEDGE_LADDER(HedgeBudget, Spot, Vol, HedgeRungs, Rate, DividendYield, ValuationDate, "
        f'"", {_STYLE_HDR}, {CONFIG_NAME})',
        anchors,
    )


def _risk(wb: Any, anchors: list) -> None:
    ws = wb.create_sheet(L.SHEET_RISK)
    _spill(
        ws,
        "A1",
        f"=VA_PORTFOLIO_GREEKS(PositionsTable, {_MARKET_ARGS}, {_STYLE_HDR}, {CONFIG_NAME})",
        anchors,
    )
    _name(wb, "PortfolioDelta", f"'{L.SHEET_RISK}'!$B$3")  # delta_dollars row of the spill
    _spill(
        ws,
        "D1",
        f"=VA_KELLY(WinProbability, AvgWin, AvgLoss, KellyUse, KellyCap, TRUE, {CONFIG_NAME})",
        anchors,
    )
    for name, row in (("KellyFraction", 2), ("ConservativeKelly", 3), ("MaxSingleStrike", 4)):
        _name(wb, name, f"'{L.SHEET_RISK}'!$E${row}")
    _spill(
        ws,
        "G1",
        f'=VA_VAR(PositionsTable, {_MARKET_ARGS}, VarConfidence, "", "", TRUE, {CONFIG_NAME})',
        anchors,
    )
    _name(wb, "ValueAtRisk", f"'{L.SHEET_RISK}'!$H$7")  # var row of the VA_VAR spill
    _name(wb, "ExpectedShortfall", f"'{L.SHEET_RISK}'!$H$8")
    _spill(
        ws,
        "A20",
        "=VA_RISK_CHECK(PositionsTable, Spot, Vol, PortfolioValue, Rate, DividendYield, ValuationDate, "
        f"TRUE, {CONFIG_NAME})",
        anchors,
    )
    # the account model (net liquidation, equity with loan value, requirements, excess, buying power)
    _spill(
        ws,
        "J1",
        f'=VA_BUYING_POWER(PositionsTable, Spot, Vol, PortfolioValue, "", Rate, DividendYield, '
        f'ValuationDate, "", TRUE, {CONFIG_NAME})',
        anchors,
    )
    _name(wb, "BuyingPower", f"'{L.SHEET_RISK}'!$K$11")  # buying_power row of the VA_BUYING_POWER spill


def _assignment(wb: Any, cfg: Any, anchors: list) -> None:
    """One item/value block per ladder strike, two columns each (B:C, D:E, ...).

    Each block is the strike and its model premium, then the ``VA_ASSIGNMENT`` table spilling
    below them; blocks sit side by side so no spill runs into the next one (``#SPILL!``).
    """
    ws = wb.create_sheet(L.SHEET_ASSIGNMENT)
    ws["A1"] = "If assigned at strike (100 shares, model premium):"
    for i in range(len(cfg.strikes.strikes)):
        k, v = _col(2 + 2 * i), _col(3 + 2 * i)
        ws[f"{k}2"], ws[f"{v}2"] = "strike", f"=INDEX({L.NAME_LADDER_STRIKES}, {i + 1})"
        ws[f"{k}3"], ws[f"{v}3"] = "premium", f"=INDEX(LadderPremiums, {i + 1})"
        _spill(
            ws,
            f"{k}4",
            f"=VA_ASSIGNMENT({v}2, {v}3, Multiplier, {_MARKET_ARGS}, FALSE, {CONFIG_NAME})",
            anchors,
        )


def _config_table(wb: Any) -> None:
    """Name the Inputs key rows (columns Value, Unit, Config key) ``ConfigTable``."""
    ws = wb[L.SHEET_INPUTS]
    last = L.REPORT_FIRST_ROW
    while (
        isinstance(ws.cell(last + 1, L.INPUT_COL_KEY).value, str)
        and "." in ws.cell(last + 1, L.INPUT_COL_KEY).value
    ):
        last += 1
    _name(
        wb,
        CONFIG_NAME,
        f"'{L.SHEET_INPUTS}'!${_col(L.INPUT_COL_VALUE)}${L.REPORT_FIRST_ROW}:${_col(L.INPUT_COL_KEY)}${last}",
    )


def _conf(wb: Any) -> None:
    ws = wb.create_sheet("xlwings.conf")
    for i, (k, v) in enumerate(XLWINGS_CONF, start=1):
        ws.cell(i, 1, k)
        ws.cell(i, 2, v)


def _build(wb: Any, cfg: Any, positions: Any) -> list[tuple[str, str]]:
    from workbook.compute import ReportInputs
    from workbook.report.inputs import write_inputs

    data = ReportInputs(cfg, positions, {})
    anchors: list[tuple[str, str]] = []
    write_inputs(wb, data)
    _config_table(wb)
    _positions(wb, data, anchors)
    _ladder(wb, cfg)
    _plan(wb, cfg, anchors)
    _hedges(wb, data, anchors)
    _risk(wb, anchors)
    _assignment(wb, cfg, anchors)
    _conf(wb)
    return anchors


_METADATA = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
    'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
    'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)


def _flag_dynamic(src: Path, dst: Path, anchors: list[tuple[str, str]], sheet_files: dict[str, str]) -> None:
    """Copy the package, marking each anchor cell ``cm="1"`` and adding ``xl/metadata.xml``."""
    by_file: dict[str, set[str]] = {}
    for sheet, ref in anchors:
        by_file.setdefault(sheet_files[sheet], set()).add(ref)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in by_file:
                text = data.decode("utf-8")
                for ref in by_file[item.filename]:
                    text = re.sub(rf'<c r="{ref}"(?![^>]*cm=)', f'<c r="{ref}" cm="1"', text, count=1)
                data = text.encode("utf-8")
            elif item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/metadata.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVolarbMeta" Type="http://schemas.'
                    b'openxmlformats.org/officeDocument/2006/relationships/sheetMetadata" '
                    b'Target="metadata.xml"/></Relationships>',
                )
            zout.writestr(item, data)
        zout.writestr("xl/metadata.xml", _METADATA)


def write_template(path: str | Path, config: Any = None, positions: Any = None, macro: bool = False) -> Path:
    """Write the live template workbook (``.xlsx``, or ``.xlsm`` from xlwings' quickstart).

    Parameters
    ----------
    path : str or Path
        Output file; written atomically (:func:`workbook.io.atomic_write_bytes`).
    config : PlanConfig, optional
        Plan inputs (default :func:`engine.config.default_config`).
    positions : DataFrame, optional
        Positions (default :func:`engine.data.positions.example_positions`, the plan's book).
    macro : bool
        Build on the installed xlwings quickstart ``.xlsm`` (keeps its VBA, drops its sheets).

    Returns
    -------
    Path
        The written file.
    """
    import openpyxl

    from engine.config import default_config
    from engine.data.positions import example_positions
    from workbook.io import atomic_write_bytes

    cfg = config if config is not None else default_config()
    pos = positions if positions is not None else example_positions()
    if macro:
        wb = openpyxl.load_workbook(quickstart_path(), keep_vba=True)
        for ws in list(wb.worksheets):
            wb.remove(ws)
    else:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
    anchors = _build(wb, cfg, pos)
    wb.properties.creator = "volarb"
    sheet_files = {ws.title: f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(wb.worksheets, start=1)}

    def write(tmp: Path) -> None:
        with tempfile.TemporaryDirectory() as d:
            raw = Path(d) / ("raw.xlsm" if macro else "raw.xlsx")
            wb.save(raw)
            _flag_dynamic(raw, Path(d) / "flagged", anchors, sheet_files)
            shutil.copyfile(Path(d) / "flagged", tmp)

    return atomic_write_bytes(path, write)


def template_formulas(wb: Any) -> list[tuple[str, str, str]]:
    """Every formula of a loaded workbook as ``(sheet, cell, text)`` (array formulas included)."""
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = getattr(v, "text", v)
                if isinstance(text, str) and text.startswith("="):
                    out.append((ws.title, c.coordinate, text))
    return out
