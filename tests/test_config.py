"""Plan config: defaults equal the plan's text, TOML round trip, and every refusal's message."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from engine.config import (
    ConfigError,
    config_from_dict,
    config_from_pairs,
    config_reference,
    config_to_dict,
    config_to_toml,
    default_config,
    load_config,
)


def test_defaults_are_the_plans_values():
    cfg = default_config()
    # values read off strategy-plan.txt
    assert cfg.market.spot == 3.15 and cfg.market.vol == 4.25
    assert cfg.market.iv_percentile == 99 and cfg.market.squeeze_probability == 0.45
    assert cfg.account.starting_value == 3792 and cfg.account.monthly_addition == 4000
    assert cfg.allocation.call_share == 0.20
    assert cfg.strikes.strikes == (2.0, 2.5, 3.0, 4.0, 5.0)
    assert cfg.strikes.weights == (0.20, 0.35, 0.30, 0.10, 0.05)
    assert [(g.strikes, g.share) for g in cfg.reinvestment] == [
        ((2.5, 3.0), 0.65),
        ((2.0,), 0.20),
        ((4.0, 5.0), 0.15),
    ]
    assert [(r.moneyness, r.share, r.dte) for r in cfg.hedge.ladder] == [
        (1.5, 0.40, 90),
        (2.0, 0.35, 120),
        (3.0, 0.25, 150),
    ]
    h = cfg.hedge
    assert (
        h.base_ratio,
        h.iv_percentile_threshold,
        h.iv_multiplier,
        h.squeeze_threshold,
        h.squeeze_multiplier,
        h.size_threshold,
        h.size_multiplier,
        h.cap,
    ) == (0.20, 95, 1.3, 0.4, 1.5, 50000, 1.2, 0.35)
    k = cfg.kelly
    assert (k.win_probability, k.avg_win, k.avg_loss, k.fraction, k.cap) == (0.892, 0.123, 0.087, 0.25, 0.15)
    assert (k.max_strategy_allocation, k.max_monthly_addition, k.emergency_reserve) == (1.0, 0.20, 0.05)
    r = cfg.risk
    assert (
        r.delta_limit,
        r.var_limit,
        r.var_confidence,
        r.concentration_limit,
        r.daily_pnl_limit,
        r.assignment_probability,
        r.assignment_notice_days,
        r.iv_percentile_floor,
    ) == (0.70, 0.05, 0.95, 0.40, 0.05, 0.80, 3, 30)
    a = cfg.assignment
    assert (a.excellent_basis, a.good_basis, a.fair_basis) == (2.00, 2.50, 3.00)
    assert (
        a.excellent_call_upside,
        a.excellent_call_dte,
        a.good_call_upside,
        a.good_call_dte,
        a.exit_stop,
        a.exit_call_upside,
    ) == (0.20, 30, 0.15, 45, 0.15, 0.10)
    e = cfg.execution
    assert (e.price_improvement, e.max_slippage, e.max_order_size, e.time_in_force) == (0.05, 0.10, 10, "DAY")
    assert (e.morning_window, e.afternoon_window) == ("09:45-10:30", "14:00-15:30")
    assert cfg.projection.months == 6 and cfg.projection.start_month == "2025-10"


def test_dict_and_toml_round_trip():
    cfg = default_config().replace(market__spot=3.5, capital__model="cash_secured")
    assert config_from_dict(config_to_dict(cfg)) == cfg
    assert config_from_dict(tomllib.loads(config_to_toml(cfg))) == cfg


def test_shipped_example_config_is_the_default(tmp_path):
    text = resources.files("engine").joinpath("data/example_config.toml").read_text(encoding="utf-8")
    assert text == config_to_toml(default_config())
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path) == default_config()


def test_partial_file_takes_defaults(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text("[market]\nspot = 2.9\n\n[[hedge.ladder]]\nmoneyness = 2.0\nshare = 1.0\ndte = 60\n")
    cfg = load_config(path)
    assert cfg.market.spot == 2.9 and cfg.market.vol == 4.25
    assert len(cfg.hedge.ladder) == 1 and cfg.hedge.ladder[0].dte == 60


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"market": {"spot": -1}}, "plan.toml: market.spot: must be > 0, got -1.0"),
        ({"market": {"spot": 0}}, "plan.toml: market.spot: must be > 0, got 0.0"),
        ({"market": {"vol": 11}}, "plan.toml: market.vol: must be > 0 and <= 10, got 11.0"),
        ({"market": {"spot": "3.15"}}, "plan.toml: market.spot: expected a number, got '3.15'"),
        ({"market": {"spott": 1}}, "plan.toml: market: unknown key 'spott'"),
        ({"markets": {}}, "plan.toml: unknown section 'markets'"),
        ({"simulation": {"paths": 1.5}}, "plan.toml: simulation.paths: expected a whole number, got 1.5"),
        ({"simulation": {"paths": 5}}, "plan.toml: simulation.paths: must be >= 10 and <= 1e+07, got 5"),
        (
            {"capital": {"model": "naked"}},
            "plan.toml: capital.model: must be one of 'premium', 'cash_secured', 'reg_t', got 'naked'",
        ),
        (
            {"hedge": {"use_dynamic_ratio": "yes"}},
            "plan.toml: hedge.use_dynamic_ratio: expected true or false, got 'yes'",
        ),
        ({"strikes": {"weights": [0.5, 0.5]}}, "strikes.strikes has 5 entries but strikes.weights has 2"),
        (
            {"strikes": {"weights": [0.2, 0.2, 0.2, 0.2, 0.1]}},
            "strikes.weights must sum to 1, they sum to 0.9",
        ),
        ({"strikes": {"strikes": [2, 2, 3, 4, 5]}}, "strikes.strikes has a repeated strike"),
        (
            {"strikes": {"strikes": [2, "x", 3, 4, 5]}},
            "plan.toml: strikes.strikes[1]: expected a number, got 'x'",
        ),
        (
            {"hedge": {"ladder": [{"moneyness": 1.5, "share": 0.5, "dte": 90}]}},
            "hedge.ladder shares must sum to 1, they sum to 0.5",
        ),
        (
            {"hedge": {"ladder": [{"moneyness": 1.5, "share": 1.0, "days": 90}]}},
            "plan.toml: hedge.ladder[0]: unknown key 'days'",
        ),
        ({"hedge": {"ladder": []}}, "plan.toml: hedge.ladder: expected a non-empty list of tables"),
        (
            {"reinvestment": [{"action": "A", "strikes": [2.0], "share": 0.5}]},
            "reinvestment shares must sum to 1, they sum to 0.5",
        ),
        ({"assignment": {"excellent_basis": 2.6}}, "excellent_basis <= good_basis <= fair_basis"),
        (
            {"market": {"valuation_date": "27/09/2025"}},
            "market.valuation_date: expected a date YYYY-MM-DD or \"today\", got '27/09/2025'",
        ),
        (
            {"projection": {"start_month": "October"}},
            "projection.start_month: expected YYYY-MM, got 'October'",
        ),
        (
            {"execution": {"morning_window": "10:30-09:45"}},
            "execution.morning_window: expected HH:MM-HH:MM with start before end",
        ),
        (
            {"email": {"recipients": "me@example.com"}},
            "plan.toml: email.recipients: expected a list of strings",
        ),
    ],
)
def test_refusals_name_file_key_and_rule(data, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, source="plan.toml")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope.toml: cannot read config"):
        load_config(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[market]\nspot = = 3\n")
    with pytest.raises(ConfigError, match=r"broken.toml: invalid TOML: .*line 2"):
        load_config(broken)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"bin.toml: config is not UTF-8 text"):
        load_config(binary)


def test_reference_documents_every_key():
    rows = config_reference()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert "market.spot" in keys and "hedge.ladder[].moneyness" in keys and "reinvestment[].share" in keys
    assert all(r["meaning"] for r in rows)


def test_replace_validates():
    with pytest.raises(ConfigError, match=r"market.spot: must be > 0"):
        default_config().replace(market__spot=0.0)


def test_valuation_date_property():
    assert str(default_config().valuation_date) == "2025-09-27"


def test_path_object_accepted(tmp_path):
    p = Path(tmp_path) / "x.toml"
    p.write_text("")
    # a config file without market.valuation_date is valued "today"; the built-in example is not
    assert load_config(p) == default_config().replace(market__valuation_date="today")


# --------------------------------------------------------------------------- config_from_pairs


def test_pairs_convert_cell_values_to_each_field_type():
    import datetime as dt

    import numpy as np

    cfg = config_from_pairs(
        [
            ("hedge.cap", "30%"),  # text percent: 30 / 100
            ("account.starting_value", "$50,000"),  # text money
            ("risk.var_scenarios", 2000.0),  # a whole float for an int key
            ("simulation.seed", "7"),  # text whole number
            ("risk.var_confidence", np.float64(0.99)),
            ("hedge.use_dynamic_ratio", np.bool_(True)),
            ("email.use_tls", "FALSE"),
            ("email.enabled", 0),
            ("market.valuation_date", dt.datetime(2025, 10, 1)),
            ("projection.start_month", dt.date(2025, 11, 1)),  # a YYYY-MM key keeps year and month
            ("market.underlying", "  ASST "),
            ("strikes.strikes", "2, 3"),
            ("strikes.weights", [0.5, "50%"]),
            ("email.recipients", "a@example.com, b@example.com"),
            ("hedge.ladder", [{"moneyness": "2", "share": 1.0, "dte": "60"}]),
            ("reinvestment", [{"action": "ALL", "strikes": "2.5, 3", "share": 1}]),
        ],
        source="cell range ConfigTable",
    )
    assert (cfg.hedge.cap, cfg.account.starting_value, cfg.risk.var_scenarios, cfg.simulation.seed) == (
        0.30,
        50000.0,
        2000,
        7,
    )
    assert isinstance(cfg.risk.var_scenarios, int) and cfg.risk.var_confidence == 0.99
    assert (cfg.hedge.use_dynamic_ratio, cfg.email.use_tls, cfg.email.enabled) == (True, False, False)
    assert (cfg.market.valuation_date, cfg.projection.start_month, cfg.market.underlying) == (
        "2025-10-01",
        "2025-11",
        "ASST",
    )
    assert cfg.strikes.strikes == (2.0, 3.0) and cfg.strikes.weights == (0.5, 0.5)
    assert cfg.email.recipients == ("a@example.com", "b@example.com")
    assert [(r.moneyness, r.share, r.dte) for r in cfg.hedge.ladder] == [(2.0, 1.0, 60)]
    assert [(g.action, g.strikes, g.share) for g in cfg.reinvestment] == [("ALL", (2.5, 3.0), 1.0)]


def test_pairs_blank_keeps_base_and_no_pairs_is_the_base():
    base = default_config().replace(hedge__cap=0.25)
    assert config_from_pairs([], base=base) == base
    assert (
        config_from_pairs([("hedge.cap", None), ("market.spot", "  "), ("capital.model", "")], base=base)
        == base
    )
    assert config_from_pairs([("market.spot", 3.5)]) == default_config().replace(market__spot=3.5)


def test_pairs_round_trip_every_inputs_key():
    """Every scalar key with its default value written as Excel shows it gives the default config."""
    from engine.config import config_to_dict

    pairs = []
    for sec, body in config_to_dict(default_config()).items():
        if isinstance(body, dict):
            for k, v in body.items():
                if k != "ladder":
                    pairs.append((f"{sec}.{k}", ", ".join(map(str, v)) if isinstance(v, list) else v))
    assert config_from_pairs(pairs) == default_config()


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("hedge.cap", 1.5)], "cell range ConfigTable: hedge.cap: must be >= 0 and <= 1, got 1.5"),
        ([("hedge.cap", "abc")], "cell range ConfigTable: hedge.cap: expected a number, got 'abc'"),
        ([("hedge.cap", True)], "cell range ConfigTable: hedge.cap: expected a number, got True"),
        (
            [("risk.var_scenarios", "2500.5")],
            "cell range ConfigTable: risk.var_scenarios: expected a whole number, got 2500.5",
        ),
        (
            [("hedge.use_dynamic_ratio", "maybe")],
            "cell range ConfigTable: hedge.use_dynamic_ratio: expected true or false, got 'maybe'",
        ),
        (
            [("capital.model", "naked")],
            "cell range ConfigTable: capital.model: must be one of 'premium', 'cash_secured', 'reg_t', got 'naked'",
        ),
        (
            [("strikes.strikes", "2, x, 3, 4, 5")],
            "cell range ConfigTable: strikes.strikes[1]: expected a number, got 'x'",
        ),
        ([("strikes.weights", "0.5, 0.5")], "strikes.strikes has 5 entries but strikes.weights has 2"),
        (
            [("hedge.capp", 0.3)],
            "cell range ConfigTable: unknown config key 'hedge.capp' (hedge has: base_ratio,",
        ),
        ([("hedges.cap", 0.3)], "cell range ConfigTable: unknown config key 'hedges.cap' (sections: market,"),
        ([("cap", 0.3)], "cell range ConfigTable: unknown config key 'cap'"),
        ([(None, 0.3)], "cell range ConfigTable: config key must be text such as 'hedge.cap', got None"),
        (
            [("hedge.cap", 0.3), ("hedge.cap ", 0.2)],
            "cell range ConfigTable: config key 'hedge.cap' is given twice",
        ),
        ([("hedge.cap",)], "cell range ConfigTable: expected (key, value) pairs, got ('hedge.cap',)"),
        (
            [("market.valuation_date", "27/09/2025")],
            "market.valuation_date: expected a date YYYY-MM-DD or \"today\", got '27/09/2025'",
        ),
    ],
)
def test_pairs_refusals_name_source_key_and_rule(pairs, message):
    with pytest.raises(ConfigError) as info:
        config_from_pairs(pairs, source="cell range ConfigTable")
    assert message in str(info.value)


def test_pairs_exported_from_engine():
    import engine

    assert engine.config_from_pairs is config_from_pairs
