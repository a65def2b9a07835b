"""The report workbook's layout map: sheet names, defined names, column orders, number formats.

Data only (no openpyxl import, no functions with side effects) so that the report writer
(:mod:`workbook.report`), the reader (:mod:`workbook.io`) and the Excel template builder
(:mod:`workbook.template`) share one description of the workbook (house style rule 11: cells
are reached through defined names or this map, never literal addresses scattered in code).

Conventions
-----------
* Every sheet has its header on row :data:`HEADER_ROW` and data from :data:`FIRST_ROW`.
* ``INPUT_NAMES`` maps a plan config key (``section.key``) to the defined name of its value
  cell on the Inputs sheet; every other scalar config key is also listed on Inputs (without a
  name) so that ``volarb refresh`` reads the whole config back.
* ``COMPUTED_NAMES`` are defined names of formula or value cells on computed sheets.
* Column tuples are ``(header, key, number format, width)``; ``key`` is the engine's column
  name (or a report-only key) so writers and readers agree on the order.
"""

from __future__ import annotations


class Column(tuple):
    """One table column, named once: header (with its unit), key, number format, width (characters).

    ``key`` is the engine's column name (or a report-only key); writers build formulas from
    keys (:class:`workbook.report.cells.Table`), readers find columns by key.  A 4-tuple (so
    ``header, key, fmt, width = column`` works), defined without imports: this module is data only.
    """

    __slots__ = ()
    _fields = ("header", "key", "fmt", "width")

    def __new__(cls, header: str, key: str, fmt: str, width: int) -> Column:
        return tuple.__new__(cls, (header, key, fmt, width))

    @property
    def header(self) -> str:
        return self[0]

    @property
    def key(self) -> str:
        return self[1]

    @property
    def fmt(self) -> str:
        return self[2]

    @property
    def width(self) -> int:
        return self[3]


# --- sheets -------------------------------------------------------------------------------
#: VA_LADDER output and the Positions sheet's computed columns (keys of :func:`engine.mark_book`)
LADDER_KEYS = (
    "sign",
    "w",
    "dte",
    "vol_used",
    "mark",
    "value",
    "premium_total",
    "unrealized_pnl",
    "delta_shares",
    "delta_dollars",
    "gamma",
    "theta_day",
    "vega_point",
    "prob_itm",
    "obligation",
    "margin",
)

SHEET_TODAY = "Today"
SHEET_INPUTS = "Inputs"
SHEET_POSITIONS = "Positions"
SHEET_LADDER = "Ladder"
SHEET_PLAN = "Plan"
SHEET_HEDGES = "Hedges"
SHEET_RISK = "Risk"
SHEET_ASSIGNMENT = "Assignment"
SHEET_SIMULATION = "Simulation"
SHEET_ORDERS = "Orders"
SHEET_AUDIT = "Audit"
SHEET_ABOUT = "About"

SHEETS: tuple[str, ...] = (
    SHEET_TODAY,
    SHEET_INPUTS,
    SHEET_POSITIONS,
    SHEET_LADDER,
    SHEET_PLAN,
    SHEET_HEDGES,
    SHEET_RISK,
    SHEET_ASSIGNMENT,
    SHEET_SIMULATION,
    SHEET_ORDERS,
    SHEET_AUDIT,
    SHEET_ABOUT,
)
#: Sheets the user edits; ``refresh`` reads them and never rewrites their contents.
USER_SHEETS: tuple[str, ...] = (SHEET_INPUTS, SHEET_POSITIONS)
#: Sheets ``refresh`` rebuilds from the engine.
COMPUTED_SHEETS: tuple[str, ...] = tuple(s for s in SHEETS if s not in USER_SHEETS)

#: Template workbook (templates/): header on row 1, data from row 2.
HEADER_ROW = 1
FIRST_ROW = 2
#: Report workbook: row 1 of every sheet is the live stale-inputs banner, the header is on row
#: 2 and data start on row 3 (readers also accept reports written before the banner existed).
BANNER_ROW = 1
REPORT_HEADER_ROW = 2
REPORT_FIRST_ROW = 3
#: The banner's text while any model input differs from the inputs the model ran on.
STALE_TEXT = "inputs changed since the model ran: run volarb refresh"

# --- number formats -----------------------------------------------------------------------
FMT_MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'
FMT_MONEY0 = '"$"#,##0;[Red]-"$"#,##0'
FMT_PRICE = '"$"#,##0.00'
FMT_PCT = "0.0%"
FMT_PCT2 = "0.00%"
FMT_NUM = "#,##0.00"
FMT_NUM4 = "0.0000"
FMT_INT = "#,##0"
FMT_DATE = "yyyy-mm-dd"
FMT_TEXT = "@"
FMT_GENERAL = "General"
#: TRUE/FALSE shown as words in every application (LibreOffice would show 1/0 under General).
FMT_BOOL = '"TRUE";"TRUE";"FALSE"'

# --- Inputs sheet ---------------------------------------------------------------------------
#: Inputs header: label, value, unit, config key, defined name, meaning.
INPUT_COLUMNS: tuple[Column, ...] = (
    Column("Parameter", "label", FMT_GENERAL, 30),
    Column("Value", "value", FMT_GENERAL, 16),
    Column("Unit", "unit", FMT_GENERAL, 12),
    Column("Config key", "key", FMT_TEXT, 34),
    Column("Name", "name", FMT_TEXT, 22),
    Column("Meaning", "doc", FMT_GENERAL, 80),
)
INPUT_COL_VALUE = 2  # column B holds the value
INPUT_COL_KEY = 4  # column D holds the config key the reader uses

#: config key -> (defined name, label, unit, number format)
INPUT_NAMES: dict[str, tuple[str, str, str, str]] = {
    "market.underlying": ("Underlying", "Underlying", "ticker", FMT_TEXT),
    "market.spot": ("Spot", "Spot price", "$/share", FMT_PRICE),
    "market.vol": ("Vol", "Implied volatility", "decimal", FMT_PCT),
    "market.rate": ("Rate", "Risk-free rate", "cont.", FMT_PCT2),
    "market.dividend_yield": ("DividendYield", "Dividend yield", "cont.", FMT_PCT2),
    "market.valuation_date": ("ValuationDate", "Valuation date", "YYYY-MM-DD", FMT_TEXT),
    "market.iv_percentile": ("IVPercentile", "IV percentile", "0-100", FMT_NUM),
    "market.squeeze_probability": ("SqueezeProbability", "Squeeze probability", "decimal", FMT_PCT),
    "account.starting_value": ("PortfolioValue", "Portfolio value (net liq.)", "$", FMT_MONEY),
    "account.monthly_addition": ("MonthlyAddition", "Monthly capital addition", "$", FMT_MONEY),
    "allocation.call_share": ("CallShare", "Premium share to call hedges", "decimal", FMT_PCT),
    "hedge.base_ratio": ("HedgeBase", "Hedge ratio: base", "decimal", FMT_PCT),
    "hedge.iv_percentile_threshold": ("HedgeIVThreshold", "Hedge: IV percentile threshold", "0-100", FMT_NUM),
    "hedge.iv_multiplier": ("HedgeIVMultiplier", "Hedge: extreme-IV multiplier", "x", FMT_NUM),
    "hedge.squeeze_threshold": ("HedgeSqueezeThreshold", "Hedge: squeeze threshold", "decimal", FMT_PCT),
    "hedge.squeeze_multiplier": ("HedgeSqueezeMultiplier", "Hedge: squeeze multiplier", "x", FMT_NUM),
    "hedge.size_threshold": ("HedgeSizeThreshold", "Hedge: portfolio size threshold", "$", FMT_MONEY0),
    "hedge.size_multiplier": ("HedgeSizeMultiplier", "Hedge: size multiplier", "x", FMT_NUM),
    "hedge.cap": ("HedgeCap", "Hedge ratio cap", "decimal", FMT_PCT),
    "hedge.use_dynamic_ratio": ("UseDynamicRatio", "Use dynamic hedge ratio", "TRUE/FALSE", FMT_BOOL),
    "kelly.win_probability": ("WinProbability", "Kelly: win probability", "decimal", FMT_PCT),
    "kelly.avg_win": ("AvgWin", "Kelly: average win", "decimal", FMT_PCT),
    "kelly.avg_loss": ("AvgLoss", "Kelly: average loss", "decimal", FMT_PCT),
    "kelly.fraction": ("KellyUse", "Kelly: fraction of full Kelly used", "decimal", FMT_PCT),
    "kelly.cap": ("KellyCap", "Kelly: max single strike", "decimal", FMT_PCT),
    "kelly.max_strategy_allocation": ("MaxStrategyAllocation", "Max strategy allocation", "decimal", FMT_PCT),
    "kelly.max_monthly_addition": ("MaxMonthlyAddition", "Max monthly addition", "decimal", FMT_PCT),
    "kelly.emergency_reserve": ("EmergencyReserve", "Emergency reserve", "decimal", FMT_PCT),
    "risk.delta_limit": ("DeltaLimit", "Delta limit (x portfolio)", "decimal", FMT_PCT),
    "risk.var_limit": ("VarLimit", "VaR limit (x portfolio)", "decimal", FMT_PCT),
    "risk.var_confidence": ("VarConfidence", "VaR confidence", "decimal", FMT_PCT),
    "risk.concentration_limit": (
        "ConcentrationLimit",
        "Single-strike limit (x portfolio)",
        "decimal",
        FMT_PCT,
    ),
    "assignment.excellent_basis": (
        "ExcellentBasis",
        "Assignment: excellent basis below",
        "$/share",
        FMT_PRICE,
    ),
    "assignment.good_basis": ("GoodBasis", "Assignment: good basis below", "$/share", FMT_PRICE),
    "assignment.fair_basis": ("FairBasis", "Assignment: fair basis", "$/share", FMT_PRICE),
    "assignment.excellent_call_upside": (
        "ExcellentCallUpside",
        "Assignment: call upside, excellent",
        "decimal",
        FMT_PCT,
    ),
    "assignment.good_call_upside": ("GoodCallUpside", "Assignment: call upside, good", "decimal", FMT_PCT),
    "assignment.exit_call_upside": ("ExitCallUpside", "Assignment: call upside, exit", "decimal", FMT_PCT),
    "assignment.exit_stop": ("ExitStop", "Assignment: stop below basis, exit", "decimal", FMT_PCT),
    "capital.model": ("CapitalModel", "Capital model per short put", "text", FMT_TEXT),
    "margin.account": ("MarginAccount", "Account type (margin or cash)", "text", FMT_TEXT),
    "margin.naked_underlying_pct": ("RegTUnderlyingPct", "Reg T: underlying share", "decimal", FMT_PCT),
    "margin.naked_minimum_pct": ("RegTMinimumPct", "Reg T: minimum share of strike", "decimal", FMT_PCT),
    "margin.per_contract_floor": (
        "PerContractFloor",
        "House floor per short option",
        "$/contract",
        FMT_MONEY,
    ),
    "margin.concentration_addon_pct": ("HouseAddonPct", "House concentration add-on", "decimal", FMT_PCT),
    "capital.contract_multiplier": ("Multiplier", "Shares per contract", "shares", FMT_INT),
    "simulation.paths": ("SimPaths", "Simulation paths", "paths", FMT_INT),
    "simulation.seed": ("SimSeed", "Simulation seed", "seed", FMT_GENERAL),
}
#: Config keys kept off the Inputs sheet (secrets never are in the config; these are lists
#: shown as tables below the key rows).
INPUT_TABLE_KEYS = ("strikes.strikes", "strikes.weights", "hedge.ladder", "reinvestment")

#: Tables on the Inputs sheet, below the key rows (title, columns (header, key, format)).
LADDER_TABLE_TITLE = "Put ladder (strikes.strikes, strikes.weights)"
LADDER_TABLE_COLUMNS = (("Strike", "strike", FMT_PRICE), ("Weight", "weight", FMT_PCT))
HEDGE_TABLE_TITLE = "Hedge ladder ([[hedge.ladder]])"
HEDGE_TABLE_COLUMNS = (
    ("Moneyness", "moneyness", FMT_NUM),
    ("Share", "share", FMT_PCT),
    ("DTE", "dte", FMT_INT),
)
REINVEST_TABLE_TITLE = "Reinvestment priorities ([[reinvestment]])"
REINVEST_TABLE_COLUMNS = (
    ("Action", "action", FMT_TEXT),
    ("Strikes", "strikes", FMT_TEXT),
    ("Share", "share", FMT_PCT),
    ("Reasoning", "reasoning", FMT_TEXT),
)
#: Defined names over the Inputs tables (whole columns of the table body).
NAME_LADDER_STRIKES = "LadderStrikes"
NAME_LADDER_WEIGHTS = "LadderWeights"

# --- Positions sheet ------------------------------------------------------------------------
#: User-editable columns then computed columns.  The input headers carry their units (a reader
#: finds a column by :func:`engine.data.positions.header_key` of its header: "Premium ($/share)"
#: is ``premium``).  A stock row (kind = stock) leaves strike, expiry, contracts and iv blank and
#: gives shares, with premium = cost per share; an option row leaves shares blank.
POSITION_INPUT_COLUMNS: tuple[Column, ...] = (
    Column("Underlying", "underlying", FMT_TEXT, 11),
    Column("Kind (put/call/stock)", "kind", FMT_TEXT, 14),
    Column("Side (short/long)", "side", FMT_TEXT, 11),
    Column("Strike ($/share)", "strike", FMT_PRICE, 10),
    Column("Expiry (date)", "expiry", FMT_DATE, 11),
    Column("Contracts", "contracts", FMT_INT, 10),
    Column("Shares", "shares", FMT_INT, 9),
    Column("Premium ($/share)", "premium", FMT_PRICE, 10),
    Column("Open date", "open_date", FMT_DATE, 11),
    Column("IV (annualized)", "iv", FMT_PCT, 12),
    Column("Note", "note", FMT_TEXT, 20),
)
POSITION_COMPUTED_COLUMNS: tuple[Column, ...] = (
    Column("Long +1 / short -1", "sign", FMT_INT, 17),  # formula: +1 long, -1 short
    Column("Call +1 / put -1 / stock 0", "w", FMT_INT, 15),  # formula: +1 call, -1 put, 0 stock
    Column("DTE days", "dte", FMT_INT, 8),
    Column("Vol used %", "vol_used", FMT_PCT, 10),
    Column("Mark $/sh", "mark", FMT_PRICE, 10),
    Column("Value $", "value", FMT_MONEY, 12),  # formula
    Column("Premium $", "premium_total", FMT_MONEY, 12),  # formula
    Column("Unrealized P&L $", "unrealized_pnl", FMT_MONEY, 14),  # formula
    Column("Delta shares", "delta_shares", FMT_NUM, 10),
    Column("Delta $", "delta_dollars", FMT_MONEY, 12),  # formula
    Column("Gamma shares/$", "gamma", FMT_NUM, 10),
    Column("Theta $/day", "theta_day", FMT_MONEY, 11),
    Column("Vega $/pt", "vega_point", FMT_MONEY, 10),
    Column("Prob ITM %", "prob_itm", FMT_PCT, 10),
    Column("Obligation $", "obligation", FMT_MONEY0, 12),  # formula
    Column("Margin $", "margin", FMT_MONEY0, 11),
)
POSITION_COLUMNS_ALL = POSITION_INPUT_COLUMNS + POSITION_COMPUTED_COLUMNS
#: Positions columns whose cells are live formulas (the rest of the computed ones are values).
POSITION_FORMULA_KEYS = (
    "sign",
    "w",
    "value",
    "premium_total",
    "unrealized_pnl",
    "delta_dollars",
    "obligation",
)

# --- Ladder sheet ---------------------------------------------------------------------------
LADDER_COLUMNS: tuple[Column, ...] = (
    Column("Strike $", "strike", FMT_PRICE, 10),
    Column("Contracts", "contracts", FMT_INT, 11),  # formula SUMIFS
    Column("Premium collected $", "premium_collected", FMT_MONEY, 16),  # formula
    Column("Cost to close $", "current_value", FMT_MONEY, 14),  # formula -value
    Column("Unrealized P&L $", "unrealized_pnl", FMT_MONEY, 15),  # formula
    Column("Share of contracts %", "share_of_contracts", FMT_PCT, 14),  # formula
    Column("Moneyness K/S", "moneyness", FMT_NUM, 15),  # formula
    Column("Obligation $", "obligation", FMT_MONEY0, 13),  # formula
    Column("Prob ITM %", "prob_itm", FMT_PCT, 10),
    Column("Status", "status", FMT_TEXT, 10),
)

# --- Plan sheet -----------------------------------------------------------------------------
ALLOCATION_COLUMNS: tuple[Column, ...] = (
    Column("Strike $", "strike", FMT_PRICE, 12),
    Column("Weight %", "weight", FMT_PCT, 10),
    Column("Capital $", "capital", FMT_MONEY, 13),  # formula
    Column("Premium $/sh", "premium", FMT_PRICE, 12),  # value (American model)
    Column("Capital/contract $ (net)", "capital_per_contract", FMT_MONEY, 15),  # formula by CapitalModel, net
    Column("Contracts", "contracts", FMT_INT, 11),  # formula: before cap x BuyingPowerScale
    Column("Capital used $", "capital_used", FMT_MONEY, 14),  # formula
    Column("Expected premium $", "expected_premium", FMT_MONEY, 15),  # formula
    Column("Leftover $", "leftover", FMT_MONEY, 12),  # formula
    Column("Plan literal contracts", "literal_contracts", FMT_INT, 16),  # formula INT(capital/(prem*100))
    Column("Contracts before cap", "contracts_sized", FMT_INT, 13),  # formula INT(capital / cpc)
    Column("Buying power/contract $", "bp_per_contract", FMT_MONEY, 15),  # value (engine, account's basis)
)

# --- Hedges sheet ---------------------------------------------------------------------------
HEDGE_COLUMNS: tuple[Column, ...] = (
    Column("Rung #", "rung", FMT_INT, 7),
    Column("Moneyness K/S", "moneyness", FMT_NUM, 15),
    Column("Strike $", "strike", FMT_PRICE, 10),
    Column("DTE days", "dte", FMT_INT, 8),
    Column("Share %", "share", FMT_PCT, 9),
    Column("Budget $", "budget", FMT_MONEY, 11),  # formula
    Column("Price $/sh", "price", FMT_PRICE, 10),
    Column("Contracts", "contracts", FMT_INT, 11),  # formula
    Column("Cost $", "cost", FMT_MONEY, 11),  # formula
    Column("Leftover $", "leftover", FMT_MONEY, 11),  # formula
)

# --- Risk sheet -----------------------------------------------------------------------------
ALERT_COLUMNS: tuple[Column, ...] = (
    Column("Alert", "alert", FMT_TEXT, 24),
    Column("Value (unit in Detail)", "value", FMT_NUM, 14),
    Column("Limit (same unit)", "threshold", FMT_NUM, 14),
    Column("Status", "status", FMT_TEXT, 10),
    Column("Detail", "detail", FMT_TEXT, 60),
)
#: Alert status words coloured by conditional formatting (text -> fill colour).
STATUS_COLOURS: dict[str, str] = {
    "ALERT": "FFC7CE",
    "BREACH": "FFC7CE",
    "WARN": "FFEB9C",
    "WARNING": "FFEB9C",
    "OK": "C6EFCE",
    "N/A": "EDEDED",
    "Good": "C6EFCE",
    "Fair": "FFEB9C",
    "Poor": "FFC7CE",
}
#: P&L-at-expiry grid: prices from 0 to this multiple of spot, in this many steps.
PAYOFF_MAX_MULTIPLE = 2.5
PAYOFF_STEPS = 50

# --- Assignment sheet -----------------------------------------------------------------------
ASSIGNMENT_COLUMNS: tuple[Column, ...] = (
    Column("Strike $", "strike", FMT_PRICE, 10),
    Column("Expiry date", "expiry", FMT_DATE, 11),
    Column("Contracts", "contracts", FMT_INT, 11),
    Column("Shares", "shares", FMT_INT, 9),  # formula
    Column("Premium $/sh", "premium", FMT_PRICE, 11),
    Column("Cost basis $/sh", "cost_basis", FMT_PRICE, 13),  # formula
    Column("Tier", "tier", FMT_TEXT, 11),  # formula
    Column("Call strike target $", "call_strike_target", FMT_PRICE, 12),  # formula basis x (1 + upside)
    Column("Stop level $", "stop_level", FMT_PRICE, 11),  # formula
    Column("Action", "action", FMT_TEXT, 34),
    Column("Listed call strike $", "call_strike", FMT_PRICE, 12),
    Column("Call DTE days", "call_dte", FMT_INT, 9),
    Column("Call premium $/sh", "call_premium", FMT_PRICE, 14),
    Column("Prob ITM %", "prob_itm", FMT_PCT, 10),
)

# --- Orders, Audit, About -------------------------------------------------------------------
AUDIT_COLUMNS: tuple[Column, ...] = (
    Column("Item", "item", FMT_TEXT, 40),
    Column("Printed in plan (unit in Item)", "printed", FMT_NUM, 16),
    Column("Computed (same unit)", "computed", FMT_NUM, 16),
    Column("Difference (same unit)", "difference", FMT_NUM, 14),  # formula
    Column("Formula", "formula", FMT_TEXT, 50),
    Column("Note", "note", FMT_TEXT, 60),
)

# --- defined names of computed cells ---------------------------------------------------------
COMPUTED_NAMES: dict[str, str] = {
    "PremiumCollected": SHEET_POSITIONS,
    "KellyFraction": SHEET_RISK,
    "ConservativeKelly": SHEET_RISK,
    "MaxSingleStrike": SHEET_RISK,
    "HedgeRatio": SHEET_HEDGES,
    "HedgeBudget": SHEET_PLAN,
    "PortfolioDelta": SHEET_RISK,
    "ValueAtRisk": SHEET_RISK,
    "ExpectedShortfall": SHEET_RISK,
    "PlanPremium": SHEET_PLAN,
    "CallBudget": SHEET_PLAN,
    "PutPremiumBudget": SHEET_PLAN,
    "PutBudget": SHEET_PLAN,
    "CompoundingFactor": SHEET_PLAN,
}

#: Defined names the issue requires at least.
REQUIRED_NAMES = (
    "Spot",
    "Vol",
    "Rate",
    "MonthlyAddition",
    "CallShare",
    "PortfolioValue",
    "PremiumCollected",
    "KellyFraction",
    "HedgeRatio",
    "PortfolioDelta",
    "ValueAtRisk",
)

# --- model inputs and the stale banner ---------------------------------------------------------
#: Inputs column holding each row's live fingerprint term (hidden; rewritten by refresh).
INPUT_CHECK_COL = 7
#: Spare Inputs rows below the last table row that still count in the fingerprint (rows a user appends).
INPUT_CHECK_SPARE_ROWS = 20
#: Positions rows the dynamic ranges can reach (a contiguous block from REPORT_FIRST_ROW).
POSITIONS_MAX_ROWS = 5000
#: Defined-name prefix of the dynamic Positions column ranges (``PosStrike``, ``PosContracts``...).
POSITION_NAME_PREFIX = "Pos"

#: Excel error values a recalculated workbook must never show.
EXCEL_ERRORS = ("#NAME?", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#N/A", "#NULL!", "Err:")

#: Prefix that marks text which would otherwise be read as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@")

#: Risk-input files listed on the About sheet: meta source key -> (row label, CLI flag).
#: ``volarb refresh`` reads these rows to warn when a file used before is not given again.
ABOUT_RISK_INPUTS: dict[str, tuple[str, str]] = {
    "iv_history": ("IV history (--iv-history)", "--iv-history"),
    "prices": ("Daily closes (--prices)", "--prices"),
    "chain": ("Option chain (--chain)", "--chain"),
}

BACKUP_SUFFIX = ".bak.xlsx"
