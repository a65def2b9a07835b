"""The readers' shared opening steps and the one date parser (engine.data.tables)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine._validate import VolarbInputError
from engine.data.tables import parse_date, read_csv_text, read_text_table

D = dt.date(2025, 10, 17)


@pytest.mark.parametrize(
    "value",
    [
        "2025-10-17",
        " 2025-10-17 ",
        "10/17/2025",
        D,
        dt.datetime(2025, 10, 17, 15, 30),
        pd.Timestamp("2025-10-17"),
        np.datetime64("2025-10-17"),
    ],
)
def test_every_date_form_the_files_and_frames_carry(value):
    assert parse_date(value) == D


@pytest.mark.parametrize(
    "value", ["2025-13-01", "17/10/2025", "20251017", "", None, 45947, float("nan"), np.datetime64("NaT")]
)
def test_a_bad_date_names_the_rule(value):
    with pytest.raises(ValueError, match="expected a date YYYY-MM-DD or M/D/YYYY, got"):
        parse_date(value)


def test_the_one_parser_sits_behind_every_reader():
    from engine.data import calendar, positions
    from engine.risk import var

    assert positions.parse_date is parse_date and var.parse_date is parse_date
    assert calendar._as_date("10/17/2025", "day") == D  # the calendar takes what the files take


class _Err(VolarbInputError):
    pass


def test_text_table_normalizes_headers_and_names_a_missing_column(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(" Date ,IV\n2025-10-17,4.25\n", encoding="utf-8")
    df, src = read_text_table(p, "IV history", _Err, ("date", "iv"))
    assert (
        list(df.columns) == ["date", "iv"] and src == "h.csv" and df.loc[0, "iv"] == "4.25"
    )  # text, not 4.25
    with pytest.raises(_Err, match=r"h\.csv: missing column 'close' \(need 'date' and 'close'\)"):
        read_text_table(p, "price history", _Err, ("date", "close"), "'date' and 'close'")
    frame = pd.DataFrame({"DATE": ["x"]})
    df, src = read_text_table(frame, "journal", _Err, ("date",))
    assert src == "journal" and list(frame.columns) == ["DATE"]  # the caller's frame is left alone


def test_csv_text_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(_Err, match="cannot read positions file"):
        read_csv_text(tmp_path / "missing.csv", "positions file", _Err)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("strike\n2,50 \u20ac\n".encode("cp1252"))
    with pytest.raises(_Err, match=r"not UTF-8 text \(byte \d+\); save the CSV as UTF-8"):
        read_csv_text(bad, "positions file", _Err)
