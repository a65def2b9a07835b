"""Broker import: every layout's fixture carries the same history and must give the same account.

The fixtures are written by tests/fixtures/brokers/make_fixtures.py (synthetic, from the
documented layouts).  Expected values are worked by hand below from that history.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.brokers import BrokerImportError, layouts, read_broker_file, read_text
from engine.data.brokers.lifecycle import build_import

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "brokers"
sys.path.insert(0, str(FIX))
import make_fixtures as mf  # noqa: E402

D = dt.date

# ----------------------------------------------------------------------------- hand-worked values
# Open at 2025-10-20 (premium $/share as sold; costs = $1.00 commission + $0.14 fees per contract):
EXPECTED_POSITIONS = [
    # underlying, kind, side, strike, expiry, contracts, shares, premium/cost, open costs $
    ("ASST", "call", "short", 3.50, D(2025, 11, 21), 1, None, 0.45, 1.14),
    ("ASST", "put", "short", 2.50, D(2025, 11, 21), 4, None, 0.70, 4.56),  # fills 3 + 1 merged
    # 400 shares assigned at 3.00 on 2025-09-19, 300 called away: 100 left; the put chain took in
    # 4 x 100 x (0.90 - 1.10 + 1.45) = $500 -> $1.25/share, plan basis 3.00 - 1.25 = 1.75
    ("ASST", "stock", "long", 3.00, D(2025, 9, 19), None, 100, 3.00, 0.0),
    ("HIMS", "put", "short", 40.00, D(2025, 11, 21), 1, None, 2.10, 1.14),
]
PLAN_BASIS = 1.75
# date, action, kind, strike, expiry, contracts, shares, price, effect, costs (comm + fees), amount, pnl, capital
EXPECTED_JOURNAL = [
    (D(2025, 8, 4), "sell", "put", 2.5, D(2025, 8, 15), 5, None, 0.40, "open", 5.70, 194.30, None, None),
    (D(2025, 8, 4), "sell", "put", 3.0, D(2025, 8, 15), 2, None, 0.65, "open", 2.28, 127.72, None, None),
    (D(2025, 8, 4), "sell", "put", 3.5, D(2025, 8, 22), 4, None, 0.90, "open", 4.56, 355.44, None, None),
    # (0.65 - 0.20) x 200 - 2.28 - 0.28 = 87.44; capital 3.00 x 100 x 2 = 600
    (D(2025, 8, 11), "buy", "put", 3.0, D(2025, 8, 15), 2, None, 0.20, "close", 0.28, -40.28, 87.44, 600.0),
    # 0.40 x 500 - 5.70 = 194.30; capital 2.50 x 500 = 1250
    (D(2025, 8, 15), "expire", "put", 2.5, D(2025, 8, 15), 5, None, 0.0, "close", 0.0, 0.0, 194.30, 1250.0),
    # the roll: (0.90 - 1.10) x 400 - 4.56 - 0.56 = -85.12; capital 3.50 x 400 = 1400
    (
        D(2025, 8, 18),
        "buy",
        "put",
        3.5,
        D(2025, 8, 22),
        4,
        None,
        1.10,
        "close",
        0.56,
        -440.56,
        -85.12,
        1400.0,
    ),
    (D(2025, 8, 18), "sell", "put", 3.0, D(2025, 9, 19), 4, None, 1.45, "open", 4.56, 575.44, None, None),
    # assigned: the option closes at 0: 1.45 x 400 - 4.56 = 575.44; capital 3.00 x 400 = 1200
    (D(2025, 9, 19), "assign", "put", 3.0, D(2025, 9, 19), 4, None, 0.0, "close", 0.0, 0.0, 575.44, 1200.0),
    (D(2025, 9, 19), "buy", "stock", 3.0, D(2025, 9, 19), None, 400, 3.00, "open", 0.0, -1200.0, None, None),
    (D(2025, 9, 22), "sell", "call", 3.5, D(2025, 10, 17), 3, None, 0.55, "open", 3.42, 161.58, None, None),
    # called away: 0.55 x 300 - 3.42 = 161.58; capital 3.50 x 300 = 1050
    (
        D(2025, 10, 17),
        "assign",
        "call",
        3.5,
        D(2025, 10, 17),
        3,
        None,
        0.0,
        "close",
        0.0,
        0.0,
        161.58,
        1050.0,
    ),
    # shares: (3.50 - 3.00) x 300 - 0.03 = 149.97 on the broker's cost; capital 3.00 x 300 = 900
    (
        D(2025, 10, 17),
        "sell",
        "stock",
        3.5,
        D(2025, 10, 17),
        None,
        300,
        3.50,
        "close",
        0.03,
        1049.97,
        149.97,
        900.0,
    ),
    (D(2025, 10, 20), "sell", "put", 2.5, D(2025, 11, 21), 4, None, 0.70, "open", 4.56, 275.44, None, None),
    (D(2025, 10, 20), "sell", "call", 3.5, D(2025, 11, 21), 1, None, 0.45, "open", 1.14, 43.86, None, None),
    (D(2025, 10, 20), "sell", "put", 40.0, D(2025, 11, 21), 1, None, 2.10, "open", 1.14, 208.86, None, None),
]
ATOL = 1e-9


def _imp(*names: str, broker: str = "auto"):
    return build_import([read_broker_file(FIX / n, broker) for n in names])


def _num(x: str) -> float | None:
    return None if x == "" else float(x)


def test_fixtures_are_what_the_script_writes():
    for name, make in mf.FIXTURES.items():
        assert (FIX / name).read_text(encoding="utf-8") == make(), f"{name}: rerun make_fixtures.py"


@pytest.mark.parametrize("name", mf.HISTORY_FILES)
def test_every_layout_gives_the_same_positions(name):
    res = _imp(name)
    got = [
        (
            p.underlying,
            p.kind,
            p.side,
            p.strike,
            p.expiry,
            p.contracts,
            p.shares,
            p.premium,
            round(p.costs, 10),
        )
        for p in res.positions
    ]
    for g, e in zip(got, EXPECTED_POSITIONS, strict=True):
        assert g[:7] == e[:7], (name, g, e)
        np.testing.assert_allclose(g[7:], e[7:], rtol=0, atol=1e-9, err_msg=f"{name}: {g} vs {e}")
    stock = [p for p in res.positions if p.kind == "stock"][0]
    assert stock.plan_basis == pytest.approx(PLAN_BASIS, abs=1e-12)
    hims = [p for p in res.positions if p.underlying == "HIMS"][0]
    assert "other underlying" in hims.note
    assert res.reconciliation.other_underlyings == ["HIMS"]
    assert res.reconciliation.unmatched == [] and res.reconciliation.notes == []


@pytest.mark.parametrize("name", mf.HISTORY_FILES)
def test_every_layout_gives_the_same_journal(name):
    res = _imp(name)
    assert len(res.journal) == len(EXPECTED_JOURNAL)
    for j, e in zip(res.journal, EXPECTED_JOURNAL, strict=True):
        got = (j.date, j.action, j.kind, j.strike, j.expiry, j.contracts, j.shares, j.price, j.effect)
        assert got == pytest.approx(e[:9]), (name, got, e)
        np.testing.assert_allclose(
            [j.commission + j.fees, j.amount], e[9:11], atol=1e-9, err_msg=f"{name}: {j}"
        )
        for got_v, want in ((j.pnl, e[11]), (j.capital_at_risk, e[12])):
            if want is None:
                assert math.isnan(got_v), (name, j)
            else:
                assert got_v == pytest.approx(want, abs=1e-9), (name, j)


@pytest.mark.parametrize("name", mf.HISTORY_FILES)
def test_the_roll_is_one_chain_with_cumulative_premium(name):
    res = _imp(name)
    rolled = [c for c in res.chains if c.rolls]
    assert len(rolled) == 1
    c = rolled[0]
    assert [leg.split()[-1] for leg in c.legs] == ["250822P00003500", "250919P00003000"]
    # premium 360 - 440 + 580 = 500; costs 4.56 + 0.56 + 4.56 = 9.68 (assignment free)
    assert c.premium == pytest.approx(500.0, abs=1e-9) and c.costs == pytest.approx(9.68, abs=1e-9)
    assert c.break_even == pytest.approx(3.00 - 500 / 400, abs=1e-12)  # 1.75
    assert c.break_even_after_costs == pytest.approx(3.00 - 490.32 / 400, abs=1e-12)  # 1.7742
    assert c.status == "assigned"
    # the journal ties the roll's legs, the assignment and the share delivery to the chain
    tied = [(j.action, j.kind) for j in res.journal if j.chain_id == c.chain_id]
    assert tied == [("sell", "put"), ("buy", "put"), ("sell", "put"), ("assign", "put"), ("buy", "stock")]
    # the 2025-08-11 buyback of another put the same week is not a roll (no open that day)
    assert len([x for x in res.chains if x.kind == "put"]) == 5


@pytest.mark.parametrize("name", mf.HISTORY_FILES)
def test_positions_csv_reads_back(name, tmp_path):
    from engine import read_positions

    res = _imp(name)
    rows = list(csv.DictReader(io.StringIO(res.positions_csv())))
    p = tmp_path / "positions.csv"
    p.write_text(res.positions_csv(), encoding="utf-8")
    df = read_positions(p)  # options and the share lot, through the one positions reader
    opts = df[df["kind"] != "stock"]
    assert opts["contracts"].tolist() == [1, 4, 1]
    np.testing.assert_allclose(opts["premium"], [0.45, 0.70, 2.10], atol=1e-12)
    assert list(opts["expiry"]) == [D(2025, 11, 21)] * 3
    shares = df[df["kind"] == "stock"]
    assert shares["shares"].tolist() == [100] and shares["side"].tolist() == ["long"]
    np.testing.assert_allclose(shares["premium"], [3.00], atol=1e-12)  # broker cost per share
    stock = [r for r in rows if r["kind"] == "stock"]
    # a share lot leaves strike, expiry and contracts blank (the positions format of the account model)
    assert stock == [
        {
            **stock[0],
            "underlying": "ASST",
            "side": "long",
            "strike": "",
            "expiry": "",
            "contracts": "",
            "shares": "100",
            "premium": "3.00",
        }
    ]
    assert "plan basis 1.7500/share" in stock[0]["note"]


@pytest.mark.parametrize("name", mf.HISTORY_FILES)
def test_journal_csv_feeds_review_and_kelly(name, tmp_path):
    from engine.data.journal import read_journal
    from engine.plan.kelly import kelly_inputs_from_journal
    from engine.risk.review import journal_metrics

    p = tmp_path / "journal.csv"
    p.write_text(_imp(name).journal_csv())
    j = read_journal(p)
    assert len(j) == 15 and set(j["kind"]) == {"put", "call", "stock"}
    m = journal_metrics(j)
    # captured: 90 (P3 closed) + 200 (P2.5 expired) - 80 (P3.5 rolled) + 580 (P3 assigned) + 165 (C3.5)
    # base: 130 + 200 + 360 + 580 + 165
    assert m["premium_capture_rate"] == pytest.approx(955 / 1435, abs=1e-12)
    assert m["open_short_puts"] == {2.5: 4.0, 40.0: 1.0}
    k = kelly_inputs_from_journal(j)
    r = np.array([87.44 / 600, 194.30 / 1250, -85.12 / 1400, 575.44 / 1200, 161.58 / 1050, 149.97 / 900])
    assert (k["n_trades"], k["n_wins"], k["n_losses"]) == (6, 5, 1)
    np.testing.assert_allclose(
        [k["win_prob"], k["avg_win"], k["avg_loss"]], [5 / 6, r[r > 0].mean(), 85.12 / 1400], rtol=1e-12
    )


@pytest.mark.parametrize("name", mf.POSITION_FILES)
def test_positions_exports_alone(name):
    res = _imp(name)
    got = sorted(
        (p.underlying, p.kind, p.side, p.strike, p.contracts, p.shares, round(p.premium, 10))
        for p in res.positions
    )
    want = sorted(
        (u, k, s, (3.0 if k == "stock" else kk), c, sh, pr)
        for u, k, s, kk, _e, c, sh, pr, _ in EXPECTED_POSITIONS
    )
    assert got == want
    assert res.journal == []


@pytest.mark.parametrize(
    "files",
    [
        ("ibkr-activity.csv",),
        ("ibkr-flex.xml",),
        ("thinkorswim-statement.csv",),
        ("tastytrade-21.csv", "tastytrade-positions.csv"),
        ("schwab-transactions.csv", "schwab-positions.csv"),
        ("fidelity-all-accounts.csv", "fidelity-positions.csv"),
    ],
)
def test_reconciled_against_the_exports_positions(files):
    rec = _imp(*files).reconciliation
    assert len(rec.snapshot) == 4 and all(c.ok for c in rec.snapshot), rec.lines()
    assert any("4 of 4 contracts agree" in ln for ln in rec.lines())


def test_reconciliation_names_a_difference():
    # drop the 2025-10-20 HIMS sale from the history: the export's positions still show it
    lines = (FIX / "ibkr-activity.csv").read_text().splitlines()
    text = "\n".join(
        ln for ln in lines if not ln.startswith("Trades,Data,Order,Equity and Index Options,USD,HIMS")
    )
    rec = build_import([read_text(text, "ib.csv")]).reconciliation
    bad = [c for c in rec.snapshot if not c.ok]
    assert [(c.contract, c.imported, c.export) for c in bad] == [("HIMS  251121P00040000", 0.0, -1.0)]
    assert any(
        "differs: account U1234567, HIMS  251121P00040000: imported +0, export -1" in ln for ln in rec.lines()
    )


def test_reconciliation_counts_rows_and_reasons():
    rec = _imp("thinkorswim-statement.csv").reconciliation
    f = rec.files[0]
    assert f.fills == 17 and f.duplicates == 0
    assert f.skipped["trade history (the same fills as the Cash Balance TRD rows)"] == 12
    assert f.rows_read - f.rows_used == sum(f.skipped.values())


def test_multi_account_kept_apart():
    res = _imp("ibkr-activity-multi.csv")
    accts = [p.account for p in res.positions]
    assert accts == ["U1111111"] * 4 + ["U2222222"] * 4
    assert all(c.ok for c in res.reconciliation.snapshot) and len(res.reconciliation.snapshot) == 8
    assert len(res.journal) == 30
    assert len({c.chain_id for c in res.chains if c.rolls}) == 2


def test_equity_from_balances():
    res = _imp("ibkr-flex.xml")
    assert [(e.date, e.equity, e.contribution) for e in res.equity] == [
        (D(2025, 8, 1), 5000.0, 5000.0),
        (D(2025, 10, 17), 5210.55, 0.0),
        (D(2025, 10, 20), mf.NET_LIQ, 0.0),
    ]
    assert [(e.date, e.equity) for e in _imp("thinkorswim-statement.csv").equity] == [
        (D(2025, 10, 20), mf.NET_LIQ)
    ]
    assert _imp("robinhood.csv").equity == []


def test_assignment_without_a_delivery_row_books_the_shares():
    text = "\n".join(
        ln for ln in (FIX / "tastytrade-21.csv").read_text().splitlines() if "Bought 400 ASST" not in ln
    )
    res = build_import([read_text(text, "tt.csv")])
    stock = [p for p in res.positions if p.kind == "stock"]
    assert stock[0].shares == 100 and stock[0].premium == 3.0
    assert any("no share delivery row" in n for n in res.reconciliation.notes)


def test_close_without_open_is_reported():
    text = "\n".join(
        ln
        for ln in (FIX / "tastytrade-21.csv").read_text().splitlines()
        if "Sold 2 ASST 08/15/25 Put 3.00" not in ln
    )
    res = build_import([read_text(text, "tt.csv")])
    rec = res.reconciliation
    assert any("close of 2 ASST  250815P00003000 without an open position" in u for u in rec.unmatched)
    # journaled without a P&L, and no long position invented
    (j,) = [j for j in res.journal if j.strike == 3.0 and j.expiry == D(2025, 8, 15)]
    assert (j.action, j.effect, j.contracts) == ("buy", "close", 2) and math.isnan(j.pnl)
    assert [p.side for p in res.positions if p.kind != "stock"] == ["short"] * 3


def test_expiration_without_open_is_journaled_and_reported():
    text = "\n".join(
        ln
        for ln in (FIX / "tastytrade-21.csv").read_text().splitlines()
        if "Sold 3 ASST 08/15/25 Put 2.50" not in ln and "Sold 2 ASST 08/15/25 Put 2.50" not in ln
    )
    res = build_import([read_text(text, "tt.csv")])
    assert any(
        "expiration of 5 ASST  250815P00002500 without an open position" in u
        for u in res.reconciliation.unmatched
    )
    (j,) = [j for j in res.journal if j.action == "expire"]
    assert j.contracts == 5 and math.isnan(j.pnl)
    assert len(res.positions) == 4


# ----------------------------------------------------------------------------- no duplicates
def _split(name: str) -> tuple[list[str], list[str]]:
    lines = (FIX / name).read_text().splitlines()
    return lines[:1], lines[1:]


def _key(res) -> list[tuple]:
    return [
        (j.date, j.action, j.kind, j.strike, j.contracts, j.shares, round(j.price, 9), j.effect)
        for j in res.journal
    ]


@settings(max_examples=25)
@given(
    name=st.sampled_from(["tastytrade-21.csv", "tastytrade-16.csv", "etrade.csv"]),
    a=st.integers(0, 18),
    b=st.integers(0, 18),
)
def test_overlapping_files_never_duplicate_a_trade(name, a, b):
    """Two files covering rows[:hi] and rows[lo:] (overlapping) import as the whole history.

    tastytrade-16 and etrade have no order or fill ids: fills are told apart by fingerprint."""
    lo, hi = min(a, b), max(a, b)
    if name == "etrade.csv":
        lines = (FIX / name).read_text().splitlines()
        head, rows = lines[:3], lines[3:]
    else:
        head, rows = _split(name)
    full = build_import([read_text("\n".join(head + rows), name)])
    first = read_text("\n".join(head + rows[:hi]), "first.csv") if hi else None
    second = read_text("\n".join(head + rows[lo:]), "second.csv") if lo < len(rows) else None
    parts = [p for p in (first, second) if p is not None and p.fills]
    res = build_import(parts + parts)  # and each file twice
    # same lines (same-day lines of a layout without times may come in another order) and positions
    assert sorted(_key(res)) == sorted(_key(full))
    assert res.positions_csv() == full.positions_csv()
    assert res.reconciliation.duplicates == sum(len(p.fills) for p in parts) + (
        len(set(f.fill_id for f in first.fills) & set(f.fill_id for f in second.fills))
        if first is not None and second is not None and first.fills and second.fills
        else 0
    )


def test_identical_fills_in_one_file_are_both_kept():
    head, rows = _split("tastytrade-16.csv")
    dup = [r for r in rows if "Sold 1 ASST 11/21/25 Call" in r]
    once = build_import([read_text("\n".join(head + rows), "a.csv")])
    twice = build_import([read_text("\n".join(head + rows + dup), "b.csv")])
    calls = [p for p in twice.positions if p.kind == "call"]
    assert calls[0].contracts == 2 and [p.contracts for p in once.positions if p.kind == "call"] == [1]


# ----------------------------------------------------------------------------- bad input
def test_unknown_layout_quotes_header_and_lists_layouts():
    with pytest.raises(BrokerImportError) as e:
        read_text("Trade Date,Ticker,Qty\n2025-01-01,ASST,1\n", "mystery.csv")
    msg = str(e.value)
    assert "mystery.csv" in msg and "'Trade Date,Ticker,Qty'" in msg
    for lay in layouts():
        assert lay.name in msg


@pytest.mark.parametrize(
    "name, needle, repl, col, line",
    [
        ("tastytrade-21.csv", "210.00,1,210.00", "abc,1,210.00", "Value", 2),
        ("robinhood.csv", '"$2.10","$208.86"', '"$2.10","lots"', "Amount", 2),
        ("schwab-transactions.csv", '"ASST 11/21/2025 3.50 C"', '"ASST 11/21/2025 X C"', "Symbol", 4),
        ("fidelity-activity.csv", ",-1,2.10,", ",-1,2.1x,", "Price ($)", 4),
        (
            "etrade.csv",
            "10/20/25,Sold Short,OPTN,HIMS",
            "13/45/25,Sold Short,OPTN,HIMS",
            "TransactionDate",
            4,
        ),
    ],
)
def test_unreadable_row_names_file_line_column_rule(name, needle, repl, col, line):
    text = (FIX / name).read_text()
    assert needle in text
    with pytest.raises(BrokerImportError) as e:
        read_text(text.replace(needle, repl, 1), name)
    assert str(e.value).startswith(f"{name}, line {line}, column {col!r}: expected "), str(e.value)


def test_wrong_broker_is_said():
    with pytest.raises(
        BrokerImportError, match=r"--broker fidelity given, but the file is a tastytrade export"
    ):
        read_broker_file(FIX / "tastytrade-18.csv", "fidelity")
    assert read_broker_file(FIX / "thinkorswim-statement.csv", "tos").layout.name == "tos-statement"


def test_bad_flex_xml():
    with pytest.raises(BrokerImportError, match=r"x.xml: not a readable Flex Query XML"):
        read_text("<FlexQueryResponse><FlexStatements><oops", "x.xml")


# ----------------------------------------------------------------------------- CLI
def test_cli_import_writes_backs_up_and_refuses(tmp_path, capsys):
    from workbook.cli import main

    assert main(["import", str(FIX / "ibkr-flex.xml"), "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "against the export's positions: 4 of 4 contracts agree" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["equity.csv", "journal.csv", "positions.csv"]
    eq = pd.read_csv(tmp_path / "equity.csv")
    assert eq["equity"].tolist() == [5000.0, 5210.55, 5321.40]
    (tmp_path / "journal.csv").write_text("edited by hand\n")
    assert main(["import", str(FIX / "ibkr-flex.xml"), "--out-dir", str(tmp_path), "--json"]) == 0
    assert (tmp_path / "journal.bak.csv").read_text() == "edited by hand\n"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text("Trade Date,Ticker\n1,2\n")
    assert main(["import", str(FIX / "robinhood.csv"), str(bad), "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("volarb import: error: bad.csv: not a broker export") and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "bad.csv"} == before
    assert main(["import", str(FIX / "robinhood.csv"), "--broker", "etrade", "--out-dir", str(tmp_path)]) == 2
    assert "is a robinhood export" in capsys.readouterr().err


def test_cli_commands_take_broker_files(tmp_path, capsys):
    from workbook.cli import main

    assert main(["risk", "--positions", str(FIX / "tastytrade-21.csv"), "--json"]) in (0, 1)  # 1 = an alert
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    import json

    risk = json.loads(cap.out)
    assert "tastytrade-21.csv (broker export)" in json.dumps(risk.get("sources", risk))
    assert (
        main(
            [
                "review",
                "--journal",
                str(FIX / "ibkr-flex.xml"),
                "--equity",
                str(FIX / "ibkr-flex.xml"),
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["premium_capture_rate"] == pytest.approx(955 / 1435, abs=1e-12)
    assert main(["plan", "--positions", str(FIX / "schwab-positions.csv"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (
        plan["account"]["equity_with_loan_value"] > plan["account"]["cash"]
    )  # the 100 shares have loan value


# ----------------------------------------------------------------------------- more lifecycle cases
_TT_HEAD = ",".join(mf.TT21)


def _tt(*rows: str):
    return build_import([read_text("\n".join([_TT_HEAD, *rows]), "tt.csv")])


def test_long_call_exercised_buys_shares_at_strike_plus_premium_basis():
    res = _tt(
        "2025-08-04T10:00:00-0400,Trade,Buy to Open,BUY_TO_OPEN,ASST  250919C00004000,Equity Option,"
        "Bought 1 ASST 09/19/25 Call 4.00 @ 0.30,-30.00,1,-30.00,-1.00,-0.14,100,ASST,ASST,9/19/25,4,CALL,2001,-31.14,USD",
        "2025-09-19T16:00:00-0400,Receive Deliver,Exercise,SELL_TO_CLOSE,ASST  250919C00004000,Equity Option,"
        "Removal of option due to exercise,0.00,1,0.00,--,0.00,100,ASST,ASST,9/19/25,4,CALL,,0.00,USD",
        "2025-09-19T16:00:00-0400,Receive Deliver,Buy to Open,BUY_TO_OPEN,ASST,Equity,Bought 100 ASST @ 4.00,"
        "-400.00,100,-400.00,--,0.00,1,,ASST,,,,,-400.00,USD",
    )
    assert [(j.action, j.kind, j.effect) for j in res.journal] == [
        ("buy", "call", "open"),
        ("exercise", "call", "close"),
        ("buy", "stock", "open"),
    ]
    # the long call: paid 0.30 x 100 + 1.14 costs; exercised at 0 -> P&L -31.14 on capital 31.14
    ex = res.journal[1]
    assert ex.pnl == pytest.approx(-31.14, abs=1e-9) and ex.capital_at_risk == pytest.approx(31.14, abs=1e-9)
    (lot,) = res.positions
    assert (lot.kind, lot.side, lot.shares, lot.premium) == ("stock", "long", 100, 4.0)
    assert lot.plan_basis == pytest.approx(4.30, abs=1e-12)  # strike + premium paid


def test_long_put_exercised_closes_shares():
    res = _tt(
        "2025-08-01T10:00:00-0400,Trade,Buy to Open,BUY_TO_OPEN,ASST,Equity,Bought 100 ASST @ 3.20,-320.00,100,"
        "-3.20,--,0.00,1,,ASST,,,,,-320.00,USD",
        "2025-08-04T10:00:00-0400,Trade,Buy to Open,BUY_TO_OPEN,ASST  250919P00003000,Equity Option,"
        "Bought 1 ASST 09/19/25 Put 3.00 @ 0.25,-25.00,1,-25.00,-1.00,-0.14,100,ASST,ASST,9/19/25,3,PUT,2002,-26.14,USD",
        "2025-09-19T16:00:00-0400,Receive Deliver,Exercise,SELL_TO_CLOSE,ASST  250919P00003000,Equity Option,"
        "Removal of option due to exercise,0.00,1,0.00,--,0.00,100,ASST,ASST,9/19/25,3,PUT,,0.00,USD",
        "2025-09-22T16:00:00-0400,Receive Deliver,Sell to Close,SELL_TO_CLOSE,ASST,Equity,Sold 100 ASST @ 3.00,"
        "300.00,100,3.00,--,0.00,1,,ASST,,,,,300.00,USD",
    )
    assert res.positions == []
    sale = res.journal[-1]
    # the delivery (posted a business day later) closes the shares bought at 3.20: (3.00 - 3.20) x 100
    assert (sale.action, sale.kind, sale.effect) == ("sell", "stock", "close")
    assert sale.pnl == pytest.approx(-20.0, abs=1e-9) and "delivery: put 3 2025-09-19 exercised" in sale.note


def test_roll_with_the_open_listed_before_the_close():
    res = _tt(
        "2025-08-04T09:40:30-0400,Trade,Sell to Open,SELL_TO_OPEN,ASST  250822P00003500,Equity Option,"
        "Sold 4 ASST 08/22/25 Put 3.50 @ 0.90,360.00,4,90.00,-4.00,-0.56,100,ASST,ASST,8/22/25,3.5,PUT,1003,355.44,USD",
        "2025-08-18T11:15:00-0400,Trade,Sell to Open,SELL_TO_OPEN,ASST  250919P00003000,Equity Option,"
        "Sold 4 ASST 09/19/25 Put 3.00 @ 1.45,580.00,4,145.00,-4.00,-0.56,100,ASST,ASST,9/19/25,3,PUT,1005,575.44,USD",
        "2025-08-18T11:20:00-0400,Trade,Buy to Close,BUY_TO_CLOSE,ASST  250822P00003500,Equity Option,"
        "Bought 4 ASST 08/22/25 Put 3.50 @ 1.10,-440.00,4,-110.00,--,-0.56,100,ASST,ASST,8/22/25,3.5,PUT,1006,-440.56,USD",
    )
    (chain,) = [c for c in res.chains if c.rolls]
    assert len(res.chains) == 1 and chain.premium == pytest.approx(500.0) and chain.status == "open"
    assert chain.break_even == pytest.approx(1.75, abs=1e-12)
    assert {j.chain_id for j in res.journal} == {chain.chain_id}
    (p,) = res.positions
    assert p.chain_id == chain.chain_id and "1 roll" in p.note


def test_ibkr_execution_and_closed_lot_rows_are_not_booked_twice():
    lines = (FIX / "ibkr-activity.csv").read_text().splitlines()
    i = next(
        k
        for k, ln in enumerate(lines)
        if ln.startswith("Trades,Data,Order,Equity and Index Options,USD,ASST 15AUG25 2.5 P")
    )
    extra = [
        lines[i].replace("Trades,Data,Order", "Trades,Data,Execution"),
        lines[i].replace("Trades,Data,Order", "Trades,Data,ClosedLot"),
    ]
    text = "\n".join(lines[: i + 1] + extra + lines[i + 1 :])
    pf = read_text(text, "ib.csv")
    assert len(pf.fills) == 17
    reasons = [s.reason for s in pf.skipped]
    assert "closed lot detail" in reasons and "execution detail (its Order row is used)" in reasons
    assert _key(build_import([pf])) == _key(_imp("ibkr-activity.csv"))


def test_ibkr_code_IA_is_not_an_assignment():
    lines = (FIX / "ibkr-activity.csv").read_text().splitlines()
    text = "\n".join(
        ln[:-2] + ",IA;O" if "HIMS 21NOV25 40 P" in ln and ln.endswith(",O") else ln for ln in lines
    )
    assert text.count(",IA;O") == 1
    res = build_import([read_text(text, "ib.csv")])
    hims = [j for j in res.journal if j.underlying == "HIMS"]
    assert [(j.action, j.effect) for j in hims] == [("sell", "open")]


def test_brokers_package_imports_only_stdlib_pandas_ibflex_engine():
    import ast

    allowed_third_party = {"pandas", "ibflex", "engine"}
    for path in sorted((Path(__file__).resolve().parents[2] / "engine" / "data" / "brokers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for n in names:
                top = n.split(".")[0]
                assert top in sys.stdlib_module_names or top in allowed_third_party, (
                    f"{path.name} imports {n}"
                )
                assert top not in ("urllib", "http", "socket", "ssl", "requests"), f"{path.name} imports {n}"


def test_bom_and_crlf_read_the_same(tmp_path):
    p = tmp_path / "tt.csv"
    p.write_bytes(
        b"\xef\xbb\xbf" + (FIX / "tastytrade-18.csv").read_text().replace("\n", "\r\n").encode("utf-8")
    )
    assert _key(build_import([read_broker_file(p)])) == _key(_imp("tastytrade-18.csv"))


def test_volarb_own_files_are_not_broker_exports():
    from engine.data.brokers import is_broker_file
    from engine.data.examples import example_path

    for name in ("positions", "journal", "equity", "chain"):
        assert not is_broker_file(example_path(name)), name
    assert is_broker_file(FIX / "ibkr-flex.xml")


def test_reconciliation_compares_costs_too():
    text = (
        (FIX / "ibkr-activity.csv")
        .read_text()
        .replace("ASST 21NOV25 2.5 P,-4,100,0.7000", "ASST 21NOV25 2.5 P,-4,100,0.6500")
    )
    rec = build_import([read_text(text, "ib.csv")]).reconciliation
    (bad,) = [c for c in rec.snapshot if not c.ok]
    assert (bad.imported, bad.export, bad.imported_cost, bad.export_cost) == (
        -4.0,
        -4.0,
        pytest.approx(0.70),
        0.65,
    )
    assert any("(cost 0.7000 vs 0.6500 $/share)" in ln for ln in rec.lines())


def test_options_only_import_keeps_the_old_positions_columns(tmp_path):
    from engine import read_positions
    from engine.data.positions import POSITION_COLUMNS

    text = "\n".join(
        ln
        for ln in (FIX / "tastytrade-21.csv").read_text().splitlines()
        if "ASST,Equity," not in ln and "due to assignment" not in ln
    )
    res = build_import([read_text(text, "tt.csv")])
    p = tmp_path / "positions.csv"
    p.write_text(res.positions_csv())
    assert p.read_text().splitlines()[0] == ",".join(
        c for c in POSITION_COLUMNS if c != "shares"
    )  # no shares column
    df = read_positions(p)
    assert sorted(zip(df["kind"], df["strike"], df["contracts"])) == [
        ("call", 3.5, 1),
        ("call", 3.5, 3),
        ("put", 2.5, 4),
        ("put", 3.0, 4),
        ("put", 40.0, 1),
    ]
    # with their assignments cut out, the September put and the October calls look open past expiry
    assert sorted(u.split(":")[0] for u in res.reconciliation.unmatched) == [
        "ASST call 3.5 2025-10-17",
        "ASST put 3 2025-09-19",
    ]


def test_flex_without_ibflex_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ibflex", None)  # import ibflex -> ImportError
    with pytest.raises(
        BrokerImportError, match=r"ibkr-flex.xml: reading IBKR Flex Query XML needs the ibflex package"
    ):
        read_broker_file(FIX / "ibkr-flex.xml")


# ----------------------------------------------------------------------------- random histories
_CONTRACTS = [("P", 2.5, D(2025, 9, 19)), ("P", 3.0, D(2025, 9, 19)), ("C", 3.5, D(2025, 10, 17))]


@st.composite
def _histories(draw):
    """Random option trades in the tastytrade-21 layout (no order numbers: fingerprints only),
    each a legal open or close against the running position; identical rows allowed."""
    n = draw(st.integers(1, 14))
    net = {i: 0 for i in range(len(_CONTRACTS))}
    rows, signed = [], []
    minute = 0
    for _ in range(n):
        i = draw(st.integers(0, len(_CONTRACTS) - 1))
        cp, k, exp = _CONTRACTS[i]
        if net[i] != 0 and draw(st.booleans()):
            side = "buy" if net[i] < 0 else "sell"
            q = draw(st.integers(1, abs(net[i])))
            effect = "close"
        else:
            side = (
                draw(st.sampled_from(["buy", "sell"])) if net[i] == 0 else ("sell" if net[i] < 0 else "buy")
            )
            q = draw(st.integers(1, 5))
            effect = "open"
        price = draw(st.sampled_from([0.05, 0.4, 0.65, 1.1]))
        minute += draw(st.sampled_from([0, 1]))  # 0: the same second as the previous row
        when = f"2025-08-04T{9 + minute // 60:02d}:{minute % 60:02d}:00-0400"
        s = 1 if side == "buy" else -1
        net[i] += s * q
        value = -s * q * price * 100
        occ = f"ASST  {exp:%y%m%d}{cp}{round(k * 1000):08d}"
        rows.append(
            f"{when},Trade,{side.title()} to {effect.title()},{side.upper()}_TO_{effect.upper()},{occ},"
            f"Equity Option,x,{value:.2f},{q},{value / q:.2f},--,0.00,100,ASST,ASST,{exp:%m/%d/%y},{k:g},"
            f"{'PUT' if cp == 'P' else 'CALL'},,{value:.2f},USD"
        )
        signed.append((occ, s * q))
    return rows, net


@settings(max_examples=40)
@given(h=_histories(), cut=st.data())
def test_random_histories_net_and_never_duplicate(h, cut):
    rows, net = h
    head = ",".join(mf.TT21)
    full = build_import([read_text("\n".join([head, *rows]), "full.csv")])
    got: dict[str, float] = {}
    for p in full.positions:
        occ = f"ASST  {p.expiry:%y%m%d}{p.kind[0].upper()}{round(p.strike * 1000):08d}"
        got[occ] = got.get(occ, 0) + (p.contracts if p.side == "long" else -p.contracts)
    want = {
        f"ASST  {e:%y%m%d}{cp}{round(k * 1000):08d}": float(net[i])
        for i, (cp, k, e) in enumerate(_CONTRACTS)
        if net[i] != 0
    }
    assert got == want
    assert full.reconciliation.unmatched == []
    # exports cover whole periods: a cut never falls between two rows of the same second (identical
    # fills of one second on both sides of a cut could not be told from one fill seen twice)
    cuts = [0] + [j for j in range(1, len(rows)) if rows[j][:24] != rows[j - 1][:24]] + [len(rows)]
    lo = cut.draw(st.sampled_from(cuts))
    hi = cut.draw(st.sampled_from([c for c in cuts if c >= lo]))
    parts = [
        read_text("\n".join([head, *rows[:hi]]), "a.csv"),
        read_text("\n".join([head, *rows[lo:]]), "b.csv"),
    ]
    again = build_import(parts + parts)
    assert again.positions_csv() == full.positions_csv()
    assert sorted(_key(again)) == sorted(_key(full))
