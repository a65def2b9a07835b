"""The Inputs sheet: every scalar config key (named cells for the plan's parameters), the ladder,
hedge and reinvestment tables, data validation from the config's own rules, and the hidden
fingerprint column of the stale check (:mod:`workbook.report.stale`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from workbook import layout as L
from workbook.compute import ReportInputs
from workbook.layout import Column
from workbook.report.cells import (
    Formula,
    Table,
    col,
    define_name,
    frame_sheet,
    header,
    mark_input,
    note,
    put,
    styles,
    title,
)
from workbook.report.stale import write_input_checks

__all__ = ["write_inputs", "input_rules", "rename_inputs", "table_rows"]


@dataclasses.dataclass(frozen=True)
class InputRule:
    """What a config key accepts: ``kind`` (float, int, bool, text), bounds, choices; its format and unit."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def fmt(self) -> str:
        if self.kind == "int":
            return L.FMT_INT
        if (
            self.kind == "float"
            and self.lo is not None
            and self.lo >= 0
            and self.hi is not None
            and self.hi <= 1
        ):
            return L.FMT_PCT
        if self.kind == "float":
            return L.FMT_NUM4 if (self.hi is not None and self.hi <= 10) else L.FMT_NUM
        return {"text": L.FMT_TEXT, "bool": L.FMT_BOOL}.get(self.kind, L.FMT_GENERAL)

    @property
    def unit(self) -> str:
        return {"int": "whole number", "bool": "TRUE/FALSE", "text": "text"}.get(
            self.kind, "decimal (%)" if self.fmt == L.FMT_PCT else "number"
        )


def input_rules(cfg: Any) -> dict[str, InputRule]:
    """``section.key`` -> :class:`InputRule` from the config fields' metadata."""
    out = {}
    for f in dataclasses.fields(cfg):
        sec = getattr(cfg, f.name)
        if not dataclasses.is_dataclass(sec):
            continue
        for g in dataclasses.fields(sec):
            md, t = g.metadata, str(g.type)
            if t.startswith("tuple"):  # a comma list in one cell: the reader checks each item (no cell rule)
                out[f"{f.name}.{g.name}"] = InputRule("list", None, None, False, None)
                continue
            kind = "bool" if t == "bool" else "int" if t == "int" else "float" if t == "float" else "text"
            out[f"{f.name}.{g.name}"] = InputRule(
                kind, md.get("min"), md.get("max"), bool(md.get("lo_open")), md.get("choices")
            )
    return out


def _validation(rule: InputRule, label: str) -> Any:
    """An openpyxl DataValidation for one rule (an error message naming the cell's quantity)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if rule.choices or rule.kind == "bool":
        items = ",".join(rule.choices or ("TRUE", "FALSE"))
        dv = DataValidation(type="list", formula1=f'"{items}"', allow_blank=True)
        dv.error = f"{label}: one of {items}"
    elif rule.kind in ("float", "int") and (rule.lo is not None or rule.hi is not None):
        typ = "whole" if rule.kind == "int" else "decimal"
        lo, hi = rule.lo, rule.hi
        if lo is not None and hi is not None:
            dv = DataValidation(type=typ, operator="between", formula1=str(lo), formula2=str(hi))
            dv.error = f"{label}: between {lo:g} and {hi:g}"
        elif lo is not None:
            op = "greaterThan" if rule.lo_open else "greaterThanOrEqual"
            dv = DataValidation(type=typ, operator=op, formula1=str(lo))
            dv.error = f"{label}: {'above' if rule.lo_open else 'at least'} {lo:g}"
        else:
            dv = DataValidation(type=typ, operator="lessThanOrEqual", formula1=str(hi))
            dv.error = f"{label}: at most {hi:g}"
        dv.allow_blank = True
    else:
        return None
    dv.showErrorMessage = True
    dv.errorTitle = "volarb input"
    return dv


def _flat_config(cfg: Any) -> list[tuple[str, Any, str]]:
    """(key, value, doc) for every scalar config key, in config order."""
    from engine.config import config_to_dict

    docs = {}
    for f in dataclasses.fields(cfg):
        sec = getattr(cfg, f.name)
        if dataclasses.is_dataclass(sec):
            docs.update({f"{f.name}.{g.name}": g.metadata.get("doc", "") for g in dataclasses.fields(sec)})
    out = []
    for sec, body in config_to_dict(cfg).items():
        if not isinstance(body, dict):
            continue
        for key, value in body.items():
            full = f"{sec}.{key}"
            if full in L.INPUT_TABLE_KEYS or isinstance(value, list) and value and isinstance(value[0], dict):
                continue
            out.append((full, value, docs.get(full, "")))
    return out


def _validate(ws: Any, cell: str, rule: InputRule | None, label: str, cache: dict) -> None:
    if rule is None:
        return
    sig = (rule, label)
    if sig not in cache:
        dv = _validation(rule, label)
        if dv is None:
            return
        ws.add_data_validation(dv)
        cache[sig] = dv
    cache[sig].add(cell)


def write_inputs(wb: Any, data: ReportInputs) -> None:
    """Create the Inputs sheet: key rows, then the three tables, validation and the check column."""
    ws = wb.create_sheet(L.SHEET_INPUTS)
    header(ws, L.REPORT_HEADER_ROW, L.INPUT_COLUMNS)
    cfg, rules = data.config, input_rules(data.config)
    cache: dict[tuple[InputRule, str], Any] = {}
    flat = {k: (v, d) for k, v, d in _flat_config(cfg)}
    ordered = [k for k in L.INPUT_NAMES if k in flat] + [k for k in flat if k not in L.INPUT_NAMES]
    row = L.REPORT_FIRST_ROW
    for key in ordered:
        value, doc = flat[key]
        sec, short = key.split(".", 1)
        rule = rules.get(key)
        default = (
            "",
            f"{sec.capitalize()}: {short.replace('_', ' ')}",
            rule.unit if rule else "",
            rule.fmt if rule else L.FMT_GENERAL,
        )
        name, label, unit, fmt = L.INPUT_NAMES.get(key, default)
        put(ws, row, 1, label)
        mark_input(put(ws, row, 2, ", ".join(map(str, value)) if isinstance(value, list) else value, fmt))
        put(ws, row, 3, unit).alignment = styles()["indent"]
        put(ws, row, 4, key)
        put(ws, row, 5, name)
        put(ws, row, 6, doc)
        _validate(ws, f"B{row}", rule, label, cache)
        if name:
            define_name(wb, name, L.SHEET_INPUTS, f"B{row}")
        row += 1
    row = _input_tables(wb, ws, data, row + 1, rules, cache)
    note(
        ws,
        row,
        "Yellow cells are inputs (the only unlocked cells): edit them and run `volarb refresh <this "
        "file>` to recompute the model values; formulas on the other sheets recalculate at once. "
        "Named cells (column E) drive those formulas.",
    )
    write_input_checks(ws)
    frame_sheet(ws)


def _input_tables(wb: Any, ws: Any, data: ReportInputs, row: int, rules: dict, cache: dict) -> int:
    """The ladder (with the live weights check), hedge and reinvestment tables; returns the next row."""
    cfg = data.config
    tables = (
        (
            L.LADDER_TABLE_TITLE,
            L.LADDER_TABLE_COLUMNS,
            [{"strike": k, "weight": w} for k, w in zip(cfg.strikes.strikes, cfg.strikes.weights)],
        ),
        (
            L.HEDGE_TABLE_TITLE,
            L.HEDGE_TABLE_COLUMNS,
            [{"moneyness": g.moneyness, "share": g.share, "dte": g.dte} for g in cfg.hedge.ladder],
        ),
        (
            L.REINVEST_TABLE_TITLE,
            L.REINVEST_TABLE_COLUMNS,
            [
                {
                    "action": g.action,
                    "strikes": ", ".join(f"{s:g}" for s in g.strikes),
                    "share": g.share,
                    "reasoning": g.reasoning,
                }
                for g in cfg.reinvestment
            ],
        ),
    )
    for name, columns, records in tables:
        title(ws, row, name)
        t = Table(ws, [Column(h, k, f, 0) for h, k, f in columns], row + 1).write_header(widths=False)
        t.rows(records)
        for r in range(t.first, t.first + t.n):
            for j in range(len(columns)):
                mark_input(ws.cell(row=r, column=j + 1))
        if name == L.LADDER_TABLE_TITLE:
            _ladder_checks(wb, ws, t)
        else:
            _table_rules(ws, t, _HEDGE_RULES if name == L.HEDGE_TABLE_TITLE else _REINVEST_RULES)
        row = t.first + t.n + 1
    return row


#: (column key, type, operator, formula1, formula2, message) of the hedge and reinvestment tables.
_HEDGE_RULES = (
    ("moneyness", "decimal", "greaterThan", "0", None, "Moneyness: strike / spot above 0"),
    ("share", "decimal", "between", "0", "1", "Share: between 0% and 100%"),
    ("dte", "whole", "between", "1", "730", "DTE: whole days, 1 to 730"),
)
_REINVEST_RULES = (("share", "decimal", "between", "0", "1", "Share: between 0% and 100%"),)


def _table_rules(ws: Any, t: Table, rules: tuple) -> None:
    """Data validation on the body of an Inputs table."""
    from openpyxl.worksheet.datavalidation import DataValidation

    for key, typ, op, lo, hi, msg in rules:
        dv = DataValidation(
            type=typ, operator=op, formula1=lo, formula2=hi, allow_blank=True, showErrorMessage=True
        )
        dv.error, dv.errorTitle = msg, "volarb input"
        ws.add_data_validation(dv)
        c = t.letter(key)
        dv.add(f"{c}{t.first}:{c}{t.first + max(t.n, 1) - 1}")


def _ladder_checks(wb: Any, ws: Any, t: Table) -> None:
    """Names over the ladder table, validation of strikes and weights, and the live 100% check."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    define_name(wb, L.NAME_LADDER_STRIKES, L.SHEET_INPUTS, t.span("strike"))
    define_name(wb, L.NAME_LADDER_WEIGHTS, L.SHEET_INPUTS, t.span("weight"))
    for key, typ, op, lo, hi, msg in (
        ("strike", "decimal", "greaterThan", "0", None, "Strike: above $0"),
        ("weight", "decimal", "between", "0", "1", "Weight: between 0% and 100%"),
    ):
        dv = DataValidation(
            type=typ, operator=op, formula1=lo, formula2=hi, allow_blank=False, showErrorMessage=True
        )
        dv.error, dv.errorTitle = msg, "volarb input"
        ws.add_data_validation(dv)
        dv.add(t.span(key))
    r = t.header_row
    c = 5  # the Name column: outside the fingerprint's columns A-D
    put(
        ws,
        r,
        c,
        Formula(
            f'=IF(ABS(SUM({L.NAME_LADDER_WEIGHTS})-1)>1E-9,"weights sum to "&TEXT(SUM('
            f'{L.NAME_LADDER_WEIGHTS}),"0.0%")&", not 100%","weights sum to 100%")'
        ),
    )
    define_name(wb, "LadderWeightsOK", L.SHEET_INPUTS, f"{col(c)}{r}")
    red = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
    ws.conditional_formatting.add(
        f"{col(c)}{r}",
        FormulaRule(
            formula=[f"ABS(SUM({L.NAME_LADDER_WEIGHTS})-1)>1E-9"],
            fill=red,
            font=Font(bold=True, color="9C0006"),
        ),
    )


def table_rows(ws: Any) -> dict[str, list[int]]:
    """Rows of the ladder and hedge tables of an existing Inputs sheet (found by their titles)."""
    out: dict[str, list[int]] = {}
    for name, key in ((L.LADDER_TABLE_TITLE, "ladder"), (L.HEDGE_TABLE_TITLE, "hedge")):
        rows: list[int] = []
        for r in range(1, ws.max_row + 1):
            if ws.cell(row=r, column=1).value == name:
                rr = r + 2
                while ws.cell(row=rr, column=1).value not in (None, ""):
                    rows.append(rr)
                    rr += 1
                break
        out[key] = rows
    return out


def rename_inputs(wb: Any) -> None:
    """Re-point the Inputs names at an existing (user-edited) sheet and rewrite its check column."""
    from workbook.io import inputs_key_cells

    ws = wb[L.SHEET_INPUTS]
    for key, addr in inputs_key_cells(ws).items():
        if key in L.INPUT_NAMES:
            define_name(wb, L.INPUT_NAMES[key][0], L.SHEET_INPUTS, addr)
    rows = table_rows(ws)["ladder"]
    if rows:
        define_name(wb, L.NAME_LADDER_STRIKES, L.SHEET_INPUTS, f"A{rows[0]}:A{rows[-1]}")
        define_name(wb, L.NAME_LADDER_WEIGHTS, L.SHEET_INPUTS, f"B{rows[0]}:B{rows[-1]}")
    write_input_checks(ws)
