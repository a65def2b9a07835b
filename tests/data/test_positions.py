"""Positions CSV: parsing dialects, OCC symbols, every refused input, the plan's example book."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.data.positions import (
    MAX_REPORTED_ERRORS,
    POSITION_COLUMNS,
    PositionsError,
    example_positions,
    occ_symbol,
    parse_iv,
    parse_occ_symbol,
    positions_from_records,
    read_positions,
)

HEADER = "underlying,kind,side,strike,expiry,contracts,premium,open_date,iv,note\n"


def write(tmp_path, text, name="positions.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_every_dialect(tmp_path):
    p = write(
        tmp_path,
        " Underlying , KIND ,Side,Strike,Expiry,Contracts,Premium,Open_Date,IV,Note\n"
        "asst,P,S,2.50,2025-10-17,10,1.10,2025-09-01,425%,first\n"
        "ASST,Call,buy,$10,1/16/2026,3,0.35,,0.9,\n"
        ",,,,,,,,,\n"
        "ASST,put,SELL,5,12/19/2025,2.0,3.36,,,\n",
    )
    df = read_positions(p)
    assert list(df.columns) == list(POSITION_COLUMNS)
    assert df["underlying"].tolist() == ["ASST"] * 3
    assert df["kind"].tolist() == ["put", "call", "put"]
    assert df["side"].tolist() == ["short", "long", "short"]
    assert df["expiry"].tolist() == [dt.date(2025, 10, 17), dt.date(2026, 1, 16), dt.date(2025, 12, 19)]
    assert df["contracts"].tolist() == [10, 3, 2]
    assert df["open_date"].tolist() == [dt.date(2025, 9, 1), None, None]
    np.testing.assert_allclose(df["iv"].to_numpy(), [4.25, 0.9, np.nan], rtol=0, atol=1e-15)
    np.testing.assert_allclose(df["strike"].to_numpy(), [2.5, 10.0, 5.0], rtol=0, atol=0)
    assert df["note"].tolist() == ["first", "", ""]


def test_symbol_column_and_bom(tmp_path):
    p = tmp_path / "pos.csv"
    p.write_bytes(
        "\ufeffsymbol,side,contracts,premium\nASST  251017P00002500,short,10,0.6\n"
        "ASST251121C00010000,long,1,0.4\n".encode()
    )
    df = read_positions(p)
    assert df.loc[0, "strike"] == 2.5 and df.loc[1, "strike"] == 10.0
    assert df["kind"].tolist() == ["put", "call"]
    assert df["expiry"].tolist() == [dt.date(2025, 10, 17), dt.date(2025, 11, 21)]


def test_formula_like_text_stays_text(tmp_path):
    p = write(
        tmp_path,
        HEADER + 'ASST,put,short,2.5,2025-10-17,1,1.0,,,"=1+1"\n'
        "ASST,put,short,2.5,2025-10-17,1,1.0,,,@SUM(A1)\n"
        "ASST,put,short,2.5,2025-10-17,1,1.0,,,-5\n"
        "ASST,put,short,2.5,2025-10-17,1,1.0,,,+cmd\n",
    )
    assert read_positions(p)["note"].tolist() == ["=1+1", "@SUM(A1)", "-5", "+cmd"]


@pytest.mark.parametrize(
    "cell_col,value,expected",
    [
        ("strike", "abc", "positions.csv, line 2, column 'strike': expected a positive number, got 'abc'"),
        ("strike", "-2", "column 'strike': expected a positive number, got '-2'"),
        ("kind", "X", "column 'kind': expected put or call (P/C, any case) or stock, got 'X'"),
        ("side", "flat", "column 'side': expected short or long (S/L, sell/buy), got 'flat'"),
        ("expiry", "2025-13-01", "column 'expiry': expected a date YYYY-MM-DD or M/D/YYYY, got '2025-13-01'"),
        ("expiry", "17.10.2025", "column 'expiry': expected a date YYYY-MM-DD or M/D/YYYY"),
        ("contracts", "2.5", "column 'contracts': expected a positive whole number of contracts"),
        (
            "contracts",
            "-3",
            "column 'contracts': expected a positive whole number of contracts (direction goes in 'side')",
        ),
        ("contracts", "0", "column 'contracts': expected a positive whole number"),
        ("premium", "-0.5", "column 'premium': expected a premium in $ per share >= 0"),
        ("premium", "one", "column 'premium': expected a premium in $ per share >= 0, got 'one'"),
        (
            "iv",
            "425",
            "column 'iv': expected an implied vol as a decimal (4.25 = 425%) at most 10, got '425'; write '425%'",
        ),
        ("iv", "0", "column 'iv': expected a positive implied vol"),
        ("iv", "high", "column 'iv': expected an implied vol as a decimal (4.25) or a percent"),
        ("open_date", "soon", "column 'open_date': expected a date"),
        ("underlying", "", "column 'underlying': required value is empty (or give a symbol)"),
        ("premium", "", "column 'premium': required value is empty"),
        ("strike", "nan", "column 'strike': expected a positive number, got 'nan'"),
    ],
)
def test_refused_cells_name_line_column_and_rule(tmp_path, cell_col, value, expected):
    good = {
        "underlying": "ASST",
        "kind": "put",
        "side": "short",
        "strike": "2.5",
        "expiry": "2025-10-17",
        "contracts": "10",
        "premium": "1.0",
        "open_date": "",
        "iv": "",
        "note": "",
        "shares": "",
    }
    good[cell_col] = value
    p = write(tmp_path, HEADER + ",".join(good[c] for c in POSITION_COLUMNS) + "\n")
    with pytest.raises(PositionsError) as exc:
        read_positions(p)
    assert expected in str(exc.value)
    assert str(exc.value).startswith("positions.csv, line 2, column")


def test_all_errors_collected_nothing_partial(tmp_path):
    p = write(
        tmp_path,
        HEADER + "ASST,put,short,2.5,2025-10-17,10,1.0,,,ok\n"
        "ASST,put,short,abc,2025-10-17,10,1.0,,,\n"
        "ASST,Q,short,2.5,2025-10-17,-1,1.0,,,\n",
    )
    with pytest.raises(PositionsError) as exc:
        read_positions(p)
    msg = str(exc.value)
    assert msg.splitlines()[0] == "positions.csv: 3 problems in 2 rows; nothing was loaded:"
    assert "positions.csv, line 3, column 'strike': expected a positive number, got 'abc'" in msg
    assert (
        "positions.csv, line 4, column 'kind'" in msg and "positions.csv, line 4, column 'contracts'" in msg
    )
    assert len(exc.value.errors) == 3


def test_error_list_is_capped(tmp_path):
    rows = "".join("ASST,put,short,x,2025-10-17,10,1.0,,,\n" for _ in range(30))
    with pytest.raises(PositionsError) as exc:
        read_positions(write(tmp_path, HEADER + rows))
    msg = str(exc.value)
    assert f"30 problems in 30 rows (first {MAX_REPORTED_ERRORS} shown)" in msg
    assert len(msg.splitlines()) == 1 + MAX_REPORTED_ERRORS


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "positions.csv: the file is empty"),
        (HEADER, "positions.csv: no positions (only a header line)"),
        (HEADER + ",,,,,,,,,\n", "positions.csv: no positions (only a header line)"),
        (
            "underlying,kind,side,strike,expiry,contracts,premium,colour\n",
            "positions.csv: unknown column 'colour'; allowed columns are underlying, kind",
        ),
        (
            "underlying,kind,side,strike,contracts,premium\n",
            "positions.csv: missing required column 'expiry'",
        ),
        ("symbol,side,premium\n", "positions.csv: missing required column 'contracts'"),
        (
            "underlying,Underlying,kind,side,strike,expiry,contracts,premium\n",
            "column 'underlying' appears twice",
        ),
        (
            HEADER + "ASST,put,short,2.5,2025-10-17,10,1.0,,,,extra\n",
            "positions.csv, line 2: 11 cells but the header has 10 columns",
        ),
        (
            HEADER + "ASST,put,short,2.5,2025-10-17,10,1.0,2025-11-01,,\n",
            "line 2, column 'open_date': 2025-11-01 is after the expiry 2025-10-17",
        ),
    ],
)
def test_refused_files(tmp_path, text, expected):
    with pytest.raises(PositionsError) as exc:
        read_positions(write(tmp_path, text))
    assert expected in str(exc.value)


def test_missing_and_non_utf8_file(tmp_path):
    with pytest.raises(PositionsError, match="cannot read positions file"):
        read_positions(tmp_path / "nope.csv")
    p = tmp_path / "latin.csv"
    p.write_bytes(HEADER.encode() + "ASST,put,short,2.5,2025-10-17,10,1.0,,,caf\xe9\n".encode("latin-1"))
    with pytest.raises(PositionsError, match="not UTF-8 text"):
        read_positions(p)


def test_symbol_disagreeing_with_columns(tmp_path):
    p = write(tmp_path, "symbol,strike,side,contracts,premium\nASST  251017P00002500,3.0,short,1,1\n")
    with pytest.raises(
        PositionsError, match="column 'strike': 3.0 disagrees with symbol 'ASST  251017P00002500'"
    ):
        read_positions(p)
    p = write(tmp_path, "symbol,side,contracts,premium\nASST 2510P25,short,1,1\n")
    with pytest.raises(PositionsError, match="column 'symbol': expected an OCC option symbol"):
        read_positions(p)


def test_records_from_a_worksheet_use_row_label():
    recs = [
        {
            "Underlying": "ASST",
            "Kind": "P",
            "Side": "S",
            "Strike": 2.5,
            "Expiry": dt.datetime(2025, 10, 17),
            "Contracts": 10.0,
            "Premium": 1.1,
        },
        {
            "Underlying": "ASST",
            "Kind": "P",
            "Side": "S",
            "Strike": True,
            "Expiry": dt.date(2025, 10, 17),
            "Contracts": 10,
            "Premium": 1.1,
        },
    ]
    with pytest.raises(PositionsError) as exc:
        positions_from_records(recs, "report.xlsx, sheet Positions", first_row=5, row_label="row")
    assert (
        str(exc.value)
        == "report.xlsx, sheet Positions, row 6, column 'strike': expected a positive number, got True"
    )
    df = positions_from_records(recs[:1], "report.xlsx, sheet Positions", first_row=5, row_label="row")
    assert df.loc[0, "expiry"] == dt.date(2025, 10, 17) and df.loc[0, "contracts"] == 10


def test_occ_symbol_reference_values():
    # OCC symbology: root padded to 6, YYMMDD, C/P, strike x 1000 in 8 digits
    assert occ_symbol("ASST", dt.date(2025, 10, 17), "put", 2.5) == "ASST  251017P00002500"
    assert occ_symbol("SPY", "2026-01-16", "C", 450) == "SPY   260116C00450000"
    assert parse_occ_symbol("SPY   260116C00450000") == {
        "underlying": "SPY",
        "expiry": dt.date(2026, 1, 16),
        "kind": "call",
        "strike": 450.0,
    }
    assert parse_occ_symbol("ASST1251017P00002500")["underlying"] == "ASST1"


@pytest.mark.parametrize(
    "args,expected",
    [
        (("TOOLONGX", "2025-10-17", "P", 2.5), "OCC root must be 1-6 letters or digits"),
        (("ASST", "2025-10-17", "P", 2.5004), "OCC strike must be a positive multiple of 0.001"),
        (("ASST", "2025-10-17", "P", -1), "OCC strike must be a positive multiple"),
        (("ASST", "2025-10-17", "X", 2.5), "occ_symbol: expected put or call"),
    ],
)
def test_occ_symbol_refusals(args, expected):
    with pytest.raises(VolarbInputError, match=expected.replace("(", r"\(")):
        occ_symbol(*args)


def test_parse_occ_symbol_refusals():
    with pytest.raises(VolarbInputError, match="date 251317 is impossible"):
        parse_occ_symbol("ASST  251317P00002500")
    with pytest.raises(VolarbInputError, match="strike is zero"):
        parse_occ_symbol("ASST  251017P00000000")
    with pytest.raises(VolarbInputError, match="expected an OCC option symbol"):
        parse_occ_symbol(12)


@settings(max_examples=60, deadline=None)
@given(
    root=st.from_regex(r"[A-Z]{1,6}", fullmatch=True),
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    kind=st.sampled_from(["put", "call"]),
    milli=st.integers(1, 99_999_999),
    padded=st.booleans(),
)
def test_occ_round_trip(root, day, kind, milli, padded):
    sym = occ_symbol(root, day, kind, milli / 1000, padded=padded)
    assert len(sym) == (21 if padded else 15 + len(root))
    assert parse_occ_symbol(sym) == {"underlying": root, "expiry": day, "kind": kind, "strike": milli / 1000}


def test_parse_iv():
    assert parse_iv("425%") == 4.25 and parse_iv(" 42.5 % ") == 0.425 and parse_iv(4.25) == 4.25
    with pytest.raises(ValueError, match="at most 10"):
        parse_iv(11)


def test_example_book_matches_the_plan():
    full = example_positions()
    calls = full[full["kind"] == "call"]
    # the plan's calls ("Net Call Value: $1,190, mostly long") give no strikes: illustrative long calls
    assert set(calls["side"]) == {"long"} and int(calls["contracts"].sum()) == 2 + 1 + 2 + 1
    assert calls["note"].str.startswith("illustrative").all()
    df = full[full["kind"] == "put"]
    # the plan's table: 10 + 22 + 2 + 2 + 2 = 38 short puts
    by = df.groupby("strike")["contracts"].sum()
    assert by.to_dict() == {2.0: 10, 2.5: 22, 3.0: 2, 4.0: 2, 5.0: 2}
    # premium collected: 600, 2,343, 244, 490, 672 -> 4,349 ($ = premium/share x 100 x contracts)
    prem = (df["premium"] * df["contracts"] * 100).groupby(df["strike"]).sum()
    np.testing.assert_allclose(prem.to_numpy(), [600, 2343, 244, 490, 672], rtol=0, atol=1e-9)
    assert abs(prem.sum() - (600 + 2343 + 244 + 490 + 672)) < 1e-9
    assert set(df["side"]) == {"short"} and set(df["kind"]) == {"put"}
    # monthly expirations (third Fridays) after the valuation date 2025-09-27
    assert set(df["expiry"]) == {dt.date(2025, 10, 17), dt.date(2025, 11, 21), dt.date(2025, 12, 19)}
