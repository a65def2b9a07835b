"""`volarb daily` end to end on the folder provider with a fixed --as-of; the next morning; faults.

The push channel's thin layer (:func:`connect.push.send_push`) is replaced by a recorder: the
test sees exactly what would be delivered, and nothing touches the network.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "marketdata"


@pytest.fixture
def plan(tmp_path, monkeypatch):
    """A user's folder: plan.toml (folder provider, push channel), the example positions, a copy
    of the recorded source folder; push deliveries recorded instead of sent."""
    src = tmp_path / "inbox"
    shutil.copytree(FIX / "folder", src)
    (tmp_path / "plan.toml").write_text(
        '[data]\nprovider = "folder"\n'
        f'source_folder = "{src.as_posix()}"\nfolder = "{(tmp_path / "md").as_posix()}"\n'
        '[alerts]\nchannels = ["push"]\n'
        f'state_file = "{(tmp_path / "state.json").as_posix()}"\n',
        encoding="utf-8",
    )
    shutil.copy(
        Path(__file__).resolve().parents[2] / "engine" / "data" / "example_positions.csv",
        tmp_path / "positions.csv",
    )
    sent: list[tuple[str, str, list[str]]] = []

    def record(title, body, urls, apprise_module=None):
        sent.append((title, body, list(urls)))
        return {"sent": True, "services": [u.split("://")[0] + "://" for u in urls]}

    import connect.push

    monkeypatch.setattr(connect.push, "send_push", record)
    monkeypatch.setenv("VOLARB_APPRISE_URLS", "ntfy://volarb-test")
    monkeypatch.chdir(tmp_path)
    return tmp_path, sent


def _daily(capsys, root, *extra):
    return run_cli(
        capsys,
        "daily",
        "--config",
        root / "plan.toml",
        "--positions",
        root / "positions.csv",
        "--report",
        root / "report.xlsx",
        "--paths",
        "50",
        "--json",
        *extra,
    )


def test_daily_end_to_end_then_dedup_then_next_morning(capsys, plan):
    root, sent = plan
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17")
    assert code == 1, err  # alerts fire on the example book
    d = json.loads(out)
    assert d["valuation_date"] == "2025-10-17" and d["data_fault"] is None
    names = {(a["alert"], a["key"]) for a in d["alerts"]}
    # the Oct-17 lots expire today: within alerts.expiry_days (5) and still open (not expired)
    assert ("SHORT_NEAR_EXPIRY", "ASST 2025-10-17 P2.5 short") in names
    assert ("SHORT_ITM", "ASST 2025-12-19 P5 short") in names  # spot 3.15 < 5
    assert ("CONCENTRATION_RISK", "portfolio") in names
    assert d["expired"] == []
    # fetch wrote today's files in the other commands' formats; the report was built from them
    md = root / "md"
    assert json.loads((md / "spot.json").read_text())["valuation_date"] == "2025-10-17"
    assert (md / "iv-history.csv").read_text().splitlines()[1].startswith("2025-10-17,")
    about = {
        r[0]: r[1] for r in openpyxl.load_workbook(root / "report.xlsx")["About"].iter_rows(values_only=True)
    }
    assert about["Valuation date"] == "2025-10-17" and str(about["Option chain (--chain)"]).endswith(
        "chain.csv"
    )
    assert len(sent) == 1 and sent[0][2] == ["ntfy://volarb-test"]
    assert (
        sent[0][0].startswith("[volarb] ASST 2025-10-17: ")
        and "SHORT_ITM [ASST 2025-12-19 P5 short]" in sent[0][1]
    )
    assert len(d["new_today"]) == len(d["alerts"])

    # a second run the same day: the same alerts, nothing new, nothing sent
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17")
    d2 = json.loads(out)
    assert code == 1 and d2["alerts"] == d["alerts"] and d2["new_today"] == [] and d2["delivered"] == []
    assert len(sent) == 1
    state = json.loads((root / "state.json").read_text())
    assert set(state["sent"]) == {"2025-10-17"} and len(state["sent"]["2025-10-17"]) == len(d["alerts"])

    # the next morning (Monday, one session later): the Oct-17 lots have expired
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-20")
    d3 = json.loads(out)
    assert code == 1, err
    keys3 = {(a["alert"], a["key"]) for a in d3["alerts"]}
    assert ("EXPIRED_UNRECORDED", "ASST 2025-10-17 P2.5 short") in keys3
    assert not any(a == "SHORT_NEAR_EXPIRY" and "2025-10-17" in k for a, k in keys3)
    assert [e["key"] for e in d3["expired"]] == ["ASST 2025-10-17 P2 short", "ASST 2025-10-17 P2.5 short"]
    assert len(sent) == 2  # a new day: its alerts go out once
    # DTE shrank by the three calendar days from Friday to Monday
    wb = openpyxl.load_workbook(root / "report.xlsx")
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r and r[0]}
    assert str(about["Valuation date"]).startswith("2025-10-20")
    rep = json.loads(
        run_cli(
            capsys,
            "risk",
            "--config",
            root / "plan.toml",
            "--positions",
            root / "positions.csv",
            "--as-of",
            "2025-10-20",
            "--json",
        )[1]
    )
    assert (
        rep["expired_lots"] == 2 and rep["greeks"]["positions"] == 9
    )  # 11 lots (7 puts, 4 calls), 2 expired


def test_risk_dte_shrinks_one_session_later(capsys, tmp_path):
    def marked(as_of):
        code, out, err = run_cli(
            capsys, "build", "--as-of", as_of, "--paths", "20", "--json", "--out", tmp_path / f"{as_of}.xlsx"
        )
        assert code == 0, err
        return json.loads(out)["marked"]

    fri, mon = marked("2025-10-17"), marked("2025-10-20")
    # calendar days to expiry by hand: Oct 17 -> Nov 21 is 14 + 21 = 35, -> Dec 19 is 35 + 28 = 63,
    # -> Jan 16 is 63 + 28 = 91, -> Jun 18 2026 is 91 + 15 + 28 + 31 + 30 + 31 + 18 = 244 (the
    # illustrative calls); Monday is 3 days later
    assert [r["dte"] for r in fri] == [0, 35, 0, 35, 35, 63, 63, 35, 91, 63, 244]
    assert [r["dte"] for r in mon] == [-3, 32, -3, 32, 32, 60, 60, 32, 88, 60, 241]
    assert [r["status"] for r in mon] == ["Expired", "Good", "Expired", "Good", "Good", "Fair", "Fair"] + [
        "Long"
    ] * 4


def test_unreachable_source_exit_3_previous_data_kept_and_used(capsys, plan):
    root, sent = plan
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17")
    assert code == 1
    before = {p.name: p.read_bytes() for p in (root / "md").iterdir()}
    shutil.rmtree(root / "inbox")  # the source is gone
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-20")
    d = json.loads(out)
    assert code == 3
    assert "not found" in d["data_fault"] and "previous data kept" in d["data_fault"]
    assert "2025-10-17 20:15 UTC" in d["data_fault"] and "hours old" in d["data_fault"]
    assert {p.name: p.read_bytes() for p in (root / "md").iterdir()} == before
    # the routine still ran on the previous data (the report and the alerts of the new day)
    assert any("market data in" in n and "from 2025-10-17" in n for n in d["notes"])
    assert (root / "report.xlsx").exists() and len(sent) == 2


def test_stale_quotes_exit_3(capsys, plan):
    root, _ = plan
    # a week later the source still holds Friday's 20:15 UTC quote: 7 days > 96 hours
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-24")
    d = json.loads(out)
    assert code == 3 and "hours old" in d["data_fault"] and "max_quote_age_hours = 96" in d["data_fault"]
    assert not (root / "md" / "spot.json").exists()  # nothing was written


def test_no_channel_configured_nothing_sent_nothing_recorded(capsys, plan):
    root, sent = plan
    text = (root / "plan.toml").read_text().replace('channels = ["push"]', "channels = []")
    (root / "plan.toml").write_text(text)
    code, out, _ = _daily(capsys, root, "--as-of", "2025-10-17")
    assert code == 1 and sent == [] and not (root / "state.json").exists()


def test_push_without_urls_names_the_variable(capsys, plan, monkeypatch):
    root, _ = plan
    monkeypatch.delenv("VOLARB_APPRISE_URLS")
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17")
    assert code == 2 and "VOLARB_APPRISE_URLS" in err and "Traceback" not in err


def test_daily_without_alerts_exits_0(capsys, plan):
    root, sent = plan
    # one far out-of-the-money short put with a month to go on a big account: nothing fires
    (root / "positions.csv").write_text(
        "underlying,kind,side,strike,expiry,contracts,premium\nASST,put,short,0.5,2025-11-21,1,0.05\n"
    )
    text = (root / "plan.toml").read_text() + "[account]\nstarting_value = 100000.0\n"
    (root / "plan.toml").write_text(text)
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17")
    d = json.loads(out)
    assert code == 0, d["alerts"]
    assert d["alerts"] == [] and sent == []


def test_saturday_as_of_moves_to_friday_with_a_note(capsys, plan):
    root, _ = plan
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-18")
    assert json.loads(out)["valuation_date"] == "2025-10-17"
    assert "--as-of 2025-10-18 is not a trading day on XNYS: valued at the previous session 2025-10-17" in err


def test_alert_state_dedup_unit(tmp_path):
    from connect.alertstate import AlertItem, load_state, mark_sent, unsent

    day = dt.date(2025, 10, 17)
    a, b = (
        AlertItem("SHORT_ITM", "ASST 2025-12-19 P5 short", "x"),
        AlertItem("VAR_LIMIT_BREACH", "portfolio", "y"),
    )
    s = {"version": 1, "sent": {}}
    assert unsent(s, day, [a, b, a]) == [a, b]  # a repeat within one run is one alert
    s = mark_sent(s, day, [a])
    assert unsent(s, day, [a, b]) == [b]
    assert unsent(s, day + dt.timedelta(days=1), [a, b]) == [a, b]  # once per day, not once ever
    s = mark_sent(s, day + dt.timedelta(days=20), [b])
    assert list(s["sent"]) == ["2025-11-06"]  # days more than 14 before the newest are pruned
    with pytest.raises(Exception, match="alert state file is not valid"):
        bad = tmp_path / "state-bad.json"
        bad.write_text("{not json")
        load_state(bad)


def test_daily_on_a_report_moves_its_date(capsys, plan, monkeypatch):
    """A report whose Inputs hold a fixed date: daily values it today (the clock pinned to
    Tuesday 2025-10-21 here), says so, and writes "today" into the Inputs cell."""
    import engine.data.calendar as cal
    from workbook import layout as L
    from workbook.io import inputs_key_cells

    root, sent = plan
    report = root / "report.xlsx"
    code, _, err = run_cli(
        capsys,
        "build",
        "--config",
        root / "plan.toml",
        "--positions",
        root / "positions.csv",
        "--as-of",
        "2025-10-17",
        "--paths",
        "20",
        "--out",
        report,
    )
    assert code == 0, err
    monkeypatch.setattr(cal, "_now_utc", lambda: dt.datetime(2025, 10, 21, 21, 0, tzinfo=dt.UTC))
    code, out, err = run_cli(
        capsys,
        "daily",
        "--report",
        report,
        "--no-fetch",
        "--paths",
        "20",
        "--dry-run",
        "--json",
        "--folder",
        root / "nomd",
    )
    d = json.loads(out)
    assert code == 1, err
    assert d["valuation_date"] == "2025-10-21"
    assert any("not at the config's fixed market.valuation_date 2025-10-17" in n for n in d["notes"])
    ws = openpyxl.load_workbook(report)[L.SHEET_INPUTS]
    assert ws[inputs_key_cells(ws)["market.valuation_date"]].value == "today"
    assert sent == [] and not (root / "state.json").exists()  # --dry-run: nothing sent or recorded


def test_email_channel_gets_only_the_new_alerts(capsys, plan, monkeypatch):
    import connect.notify

    root, _ = plan
    mails = []

    def record(report, cfg, **kw):
        mails.append(report)
        return {"sent": True, "recipients": list(cfg.email.recipients), "subject": "s", "server": "h:587"}

    monkeypatch.setattr(connect.notify, "send_alert_email", record)
    text = (root / "plan.toml").read_text().replace('channels = ["push"]', 'channels = ["email"]')
    text += '[email]\nenabled = true\nsender = "me@example.org"\nrecipients = ["me@example.org"]\n'
    (root / "plan.toml").write_text(text)
    code, out, _ = _daily(capsys, root, "--as-of", "2025-10-17")
    d = json.loads(out)
    assert code == 1 and d["delivered"] == ["emailed me@example.org"] and len(mails) == 1
    assert len(mails[0]["alerts"]) == len(d["alerts"]) and all(
        a["status"] == "ALERT" for a in mails[0]["alerts"]
    )
    assert any(a["detail"].startswith("[ASST 2025-12-19 P5 short]") for a in mails[0]["alerts"])
    _daily(capsys, root, "--as-of", "2025-10-17")
    assert len(mails) == 1


def test_market_folder_of_another_symbol_refused(capsys, plan):
    root, _ = plan
    assert _daily(capsys, root, "--as-of", "2025-10-17")[0] == 1
    (root / "plan.toml").write_text((root / "plan.toml").read_text() + '[market]\nunderlying = "GME"\n')
    code, out, err = _daily(capsys, root, "--as-of", "2025-10-17", "--no-fetch")
    assert code == 2 and "spot.json: market data for ASST, but the config trades GME" in err
