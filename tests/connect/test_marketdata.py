"""Market-data providers: recorded responses through the pure parsers, the faults, the ATM IV.

The recorded responses are written by tests/fixtures/marketdata/make_marketdata_fixtures.py from each
provider's documented response shape (no network here, ever): the three providers carry the same
market, so their parsed chains must agree quote for quote.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from connect.marketdata import CredentialsError, get_provider, yahoo
from connect.marketdata import folder as folder_mod
from connect.marketdata import tastytrade as tt
from engine.config import default_config
from engine.data.marketfiles import (
    MarketDataError,
    MarketSnapshot,
    atm_iv,
    chain_frame,
    check_snapshot,
    merge_history,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "marketdata"
QUOTE_TIME = dt.datetime(2025, 10, 17, 20, 15, tzinfo=dt.UTC)


def _json(name):
    return json.loads((FIX / name).read_text())


def _key(df):
    return df.sort_values(["expiry", "strike", "kind"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def parsed():
    return {
        "folder": folder_mod.parse_raw(folder_mod.fetch_raw(FIX / "folder"), "ASST"),
        "yahoo": yahoo.parse_raw(_json("yahoo_asst.json"), today=dt.date(2025, 10, 17)),
        "tastytrade": tt.parse_raw(_json("tastytrade_asst.json")),
    }


@pytest.mark.parametrize("name", ["folder", "yahoo", "tastytrade"])
def test_recorded_response_parses(parsed, name):
    s = parsed[name]
    assert s.symbol == "ASST" and s.spot == 3.15 and s.source == name
    assert s.quote_time == QUOTE_TIME
    assert s.earnings == dt.date(2025, 11, 13)
    # 4 expiries x 8 strikes x put/call, every quote two-sided (ask > 0)
    assert len(s.chain) == 64
    assert list(s.chain.columns) == ["expiry", "strike", "kind", "bid", "ask", "iv", "open_interest"]
    assert (s.chain["ask"] >= s.chain["bid"]).all()


def test_three_providers_agree_quote_for_quote(parsed):
    ref = _key(parsed["folder"].chain)
    for name in ("yahoo", "tastytrade"):
        got = _key(parsed[name].chain)
        assert got["expiry"].tolist() == ref["expiry"].tolist()
        assert_allclose(
            got[["strike", "bid", "ask", "open_interest"]].to_numpy(float),
            ref[["strike", "bid", "ask", "open_interest"]].to_numpy(float),
            rtol=0,
            atol=1e-12,
        )


def test_yahoo_iv_placeholder_is_blank_and_real_iv_kept(parsed):
    ch = parsed["yahoo"].chain
    expiring = ch[ch["expiry"] == dt.date(2025, 10, 17)]
    assert expiring["iv"].isna().all()  # Yahoo's 1e-05 "could not invert" becomes blank
    later = ch[ch["expiry"] == dt.date(2025, 11, 21)]
    ref = _key(parsed["folder"].chain)
    ref = ref[ref["expiry"] == dt.date(2025, 11, 21)]
    assert_allclose(_key(later)["iv"].to_numpy(float), ref["iv"].to_numpy(float), rtol=0, atol=1e-12)
    assert parsed["tastytrade"].chain["iv"].isna().all()  # per-strike IV not in tastytrade's quotes


def test_tastytrade_reads_sdk_snake_case_dumps_too():
    raw = _json("tastytrade_asst.json")

    def snake(d):
        if isinstance(d, dict):
            return {k.replace("-", "_"): snake(v) for k, v in d.items()}
        return [snake(v) for v in d] if isinstance(d, list) else d

    a, b = tt.parse_raw(raw), tt.parse_raw(snake(raw))
    assert a.chain.equals(b.chain) and a.spot == b.spot and a.earnings == b.earnings


def test_closes_parsed(parsed):
    c = parsed["folder"].closes
    assert len(c) == 25 and c["date"].iloc[-1] == dt.date(2025, 10, 17) and c["close"].iloc[-1] == 3.15
    assert parsed["yahoo"].closes["close"].tolist() == c["close"].tolist()
    assert parsed["tastytrade"].closes.to_dict("records") == [{"date": dt.date(2025, 10, 17), "close": 3.15}]


# --- faults -------------------------------------------------------------------------------------


def test_no_options_empty_and_malformed_chains():
    raw = _json("yahoo_asst.json")
    none = dict(raw, expirations=[])
    with pytest.raises(MarketDataError) as e:
        yahoo.parse_raw(none)
    assert e.value.kind == "no_options" and "ASST has no listed options" in str(e.value)
    empty = copy.deepcopy(raw)
    for sides in empty["chains"].values():
        for recs in sides.values():
            for r in recs:
                r["bid"] = r["ask"] = None
    with pytest.raises(MarketDataError) as e:
        yahoo.parse_raw(empty)
    assert e.value.kind == "empty_chain"
    bad = copy.deepcopy(raw)
    bad["chains"]["2025-11-21"]["puts"][3]["strike"] = "n/a"
    with pytest.raises(MarketDataError) as e:
        yahoo.parse_raw(bad)
    assert e.value.kind == "malformed" and "row" in str(e.value)
    noprice = copy.deepcopy(raw)
    noprice["underlying"].pop("regularMarketPrice")
    with pytest.raises(MarketDataError, match="regularMarketPrice") as e:
        yahoo.parse_raw(noprice)
    t = copy.deepcopy(_json("tastytrade_asst.json"))
    t["chain"]["expirations"] = []
    with pytest.raises(MarketDataError) as e:
        tt.parse_raw(t)
    assert e.value.kind == "no_options"


def test_stale_quotes_refused_by_age():
    snap = folder_mod.parse_raw(folder_mod.fetch_raw(FIX / "folder"), "ASST")
    check_snapshot(snap, QUOTE_TIME + dt.timedelta(hours=95.9), 96)  # inside the limit: no error
    with pytest.raises(MarketDataError) as e:
        check_snapshot(snap, QUOTE_TIME + dt.timedelta(hours=96.5), 96)
    assert (
        e.value.kind == "stale" and "96.5 hours old" in str(e.value) and "max_quote_age_hours" in str(e.value)
    )


def test_folder_provider_unreachable_and_wrong_symbol(tmp_path):
    with pytest.raises(MarketDataError) as e:
        folder_mod.fetch_raw(tmp_path / "nowhere")
    assert e.value.kind == "unreachable" and "nowhere" in str(e.value)
    with pytest.raises(MarketDataError, match="quote.json is for ASST, not GME"):
        folder_mod.parse_raw(folder_mod.fetch_raw(FIX / "folder"), "GME")


def test_tastytrade_credentials_env_then_keyring_never_a_file():
    d = default_config().data
    with pytest.raises(CredentialsError) as e:
        tt.credentials(d, env={}, keyring_get=lambda s, u: None)
    assert "TASTYTRADE_CLIENT_SECRET" in str(e.value) and "never read from a file" in str(e.value)
    with pytest.raises(CredentialsError, match="TASTYTRADE_REFRESH_TOKEN"):
        tt.credentials(d, env={"TASTYTRADE_CLIENT_SECRET": "s"}, keyring_get=lambda s, u: None)
    store = {("volarb-tastytrade", "client_secret"): "ks", ("volarb-tastytrade", "refresh_token"): "kt"}
    assert tt.credentials(d, env={}, keyring_get=lambda s, u: store.get((s, u))) == ("ks", "kt")
    # the environment wins over the keyring
    assert tt.credentials(
        d,
        env={"TASTYTRADE_CLIENT_SECRET": "e", "TASTYTRADE_REFRESH_TOKEN": "f"},
        keyring_get=lambda s, u: store.get((s, u)),
    ) == ("e", "f")


def test_unknown_provider_named():
    from engine._validate import VolarbInputError

    with pytest.raises(VolarbInputError, match="unknown provider 'bloomberg'"):
        get_provider(default_config(), "bloomberg")


def test_provider_modules_import_nothing_networked():
    import subprocess
    import sys

    code = (
        "import sys, connect.marketdata, connect.marketdata.yahoo, connect.marketdata.tastytrade, "
        "connect.marketdata.folder, connect.push; "
        "print([m for m in ('yfinance', 'tastytrade', 'apprise', 'requests', 'keyring') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --- pure shaping -------------------------------------------------------------------------------


def test_chain_frame_drops_one_sided_and_crossed_quotes():
    rows = [
        {"expiry": "2025-11-21", "strike": 3, "kind": "P", "bid": 1.0, "ask": 1.1},
        {"expiry": "2025-11-21", "strike": 3, "kind": "C", "bid": 1.2, "ask": 1.1},  # crossed
        {"expiry": "2025-11-21", "strike": 4, "kind": "put", "bid": "", "ask": "1.9"},  # one-sided
        {"expiry": "2025-11-21", "strike": 4, "kind": "call", "bid": 0, "ask": 0},
    ]  # no market
    df = chain_frame(rows, "t")
    assert df[["strike", "kind"]].values.tolist() == [[3.0, "put"]]


def test_atm_iv_implied_from_mids_recovers_the_vol():
    """A chain priced at 400% vol (American, QuantLib-checked pricer), no iv column: the ATM IV
    implied back from the mids is 4.00, at 30 days exactly and interpolated between 20 and 40."""
    from engine.pricing.american import american_price

    vd, spot = dt.date(2025, 10, 1), 3.0
    rows = []
    for days in (20, 30, 40):
        for kind in ("put", "call"):
            p = float(american_price(spot, 3.0, days / 365, 0.04, 4.0, kind, 0.0))
            rows.append(
                {"expiry": vd + dt.timedelta(days=days), "strike": 3.0, "kind": kind, "bid": p, "ask": p}
            )
    ch = chain_frame(rows, "t")
    assert_allclose(atm_iv(ch, spot, vd).iv, 4.0, atol=1e-4)
    two = ch[ch["expiry"] != vd + dt.timedelta(days=30)]
    r = atm_iv(two, spot, vd)
    assert_allclose(r.iv, 4.0, atol=1e-4)
    assert [d for _, d, _ in r.expiries] == [20, 40]


def test_atm_iv_off_grid_flat_outside_and_nearest_strike():
    vd = dt.date(2025, 10, 1)
    ch = pd.DataFrame(
        {
            "expiry": [vd + dt.timedelta(days=45)] * 4,
            "strike": [2.5, 2.5, 3.5, 3.5],
            "kind": ["put", "call"] * 2,
            "bid": [1.0] * 4,
            "ask": [1.1] * 4,
            "iv": [5.0, 4.8, 3.0, 3.2],
            "open_interest": [math.nan] * 4,
        }
    )
    # spot 2.9 is nearest 2.5: mean of 5.0 and 4.8; 30 days is before the only expiry: flat
    assert atm_iv(ch, 2.9, vd).iv == pytest.approx(4.9, abs=1e-12)
    assert atm_iv(ch, 3.2, vd, target_dte=90).iv == pytest.approx(3.1, abs=1e-12)
    with pytest.raises(MarketDataError, match="no expiry after the valuation date"):
        atm_iv(ch, 3.0, vd + dt.timedelta(days=60))


def test_merge_history_appends_and_replaces_the_same_day():
    h = merge_history(None, dt.date(2025, 10, 16), 4.0, "iv")
    h = merge_history(h, dt.date(2025, 10, 17), 4.1, "iv")
    h = merge_history(h, dt.date(2025, 10, 17), 4.2, "iv")
    h = merge_history(h, dt.date(2025, 10, 15), 3.9, "iv")  # an older date goes in its place
    assert h["date"].tolist() == [dt.date(2025, 10, 15), dt.date(2025, 10, 16), dt.date(2025, 10, 17)]
    assert h["iv"].tolist() == [3.9, 4.0, 4.2]


def test_written_files_read_back_in_the_other_commands_formats(tmp_path):
    from connect.marketdata.store import read_market_folder, write_market_files
    from engine.data.ivhistory import read_iv_history
    from engine.data.prices import read_price_history
    from engine.pricing.surface import read_option_chain

    snap = folder_mod.parse_raw(folder_mod.fetch_raw(FIX / "folder"), "ASST")
    vd = dt.date(2025, 10, 17)
    atm = atm_iv(snap.chain, snap.spot, vd)
    out = write_market_files(tmp_path, snap, vd, atm, QUOTE_TIME)
    assert out["iv_rows"] == 1 and out["price_rows"] == 25
    cfg = default_config().replace(market__valuation_date="2025-10-17")
    surface = read_option_chain(tmp_path / "chain.csv", cfg)
    assert len(surface.quotes) == 64
    iv = read_iv_history(tmp_path / "iv-history.csv")
    assert iv["date"].tolist() == [vd] and iv["iv"].iloc[0] == pytest.approx(atm.iv, rel=1e-5)
    px = read_price_history(tmp_path / "prices.csv")
    assert px["close"].iloc[-1] == 3.15
    mf = read_market_folder(tmp_path)
    assert mf.spot == 3.15 and mf.next_earnings == dt.date(2025, 11, 13) and mf.valuation_date == vd
    # a second fetch the same day replaces that day's IV, a fetch the next session appends
    write_market_files(tmp_path, snap, vd, atm, QUOTE_TIME)
    nxt = MarketSnapshot(
        snap.symbol,
        3.30,
        QUOTE_TIME + dt.timedelta(days=3),
        snap.chain,
        snap.closes.iloc[0:0],
        None,
        "folder",
    )
    write_market_files(tmp_path, nxt, dt.date(2025, 10, 20), atm, QUOTE_TIME + dt.timedelta(days=3))
    iv = read_iv_history(tmp_path / "iv-history.csv")
    assert iv["date"].tolist() == [vd, dt.date(2025, 10, 20)]
    px = read_price_history(tmp_path / "prices.csv")
    assert px["date"].iloc[-1] == dt.date(2025, 10, 20) and px["close"].iloc[-1] == 3.30  # after the close
    assert np.isfinite(px["close"]).all()


def test_mocked_yahoo_thin_layer_through_the_cli(capsys, monkeypatch, tmp_path):
    """`volarb fetch --provider yahoo` with yfinance's thin layer replaced by the recorded response."""
    from conftest import run_cli

    monkeypatch.setattr(yahoo, "fetch_raw", lambda symbol, max_expiries=8: _json("yahoo_asst.json"))
    code, out, err = run_cli(
        capsys, "fetch", "--provider", "yahoo", "--folder", tmp_path, "--as-of", "2025-10-17"
    )
    assert code == 0, err
    assert "spot $3.15" in out and "after earnings 2025-11-13" in out
    assert json.loads((tmp_path / "spot.json").read_text())["source"] == "yahoo"

    def limited(symbol, max_expiries=8):
        raise MarketDataError(
            "rate_limited", "yahoo: rate-limited by Yahoo (YFRateLimitError); try again later"
        )

    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(yahoo, "fetch_raw", limited)
    code, out, err = run_cli(
        capsys, "fetch", "--provider", "yahoo", "--folder", tmp_path, "--as-of", "2025-10-17"
    )
    assert code == 3
    line = [ln for ln in err.splitlines() if "data source" in ln]
    assert (
        len(line) == 1
        and "rate-limited" in line[0]
        and "previous data kept" in line[0]
        and "hours old" in line[0]
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_missing_tastytrade_credentials_name_the_variable(capsys, monkeypatch, tmp_path):
    from conftest import run_cli

    monkeypatch.delenv("TASTYTRADE_CLIENT_SECRET", raising=False)
    monkeypatch.setattr(tt, "_keyring_get", lambda s, u: None)
    code, out, err = run_cli(capsys, "fetch", "--provider", "tastytrade", "--folder", tmp_path)
    assert code == 2 and "TASTYTRADE_CLIENT_SECRET" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
