"""Regenerate the generated sections of the docs site's pages.

Sections, each between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers in a page under
docs/: the config keys table (from engine/config.py) in docs/config.md, and the findings and the
audit of the plan's printed numbers (from engine.plan.projection.plan_discrepancies and a run of the
engine on the built-in example) in docs/findings.md. A section may appear in any page of docs/;
every page is scanned. The API reference pages are generated separately (tools/gen_api_docs.py).

Usage: ``python tools/gen_docs.py`` rewrites the pages in place; ``--check`` exits 1 when a page
is out of date (tests/test_docs.py runs the check).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import config_reference  # noqa: E402

SECTIONS = {}


def section(name):
    def register(fn):
        SECTIONS[name] = fn
        return fn

    return register


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value).replace("|", "/")


@section("config-table")
def config_table() -> str:
    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for r in config_reference():
        lines.append(f"| `{r['key']}` | {r['default']} | {r['allowed']} | {r['meaning']} |")
    return "\n".join(lines)


@section("findings")
def findings() -> str:
    """What the engine says of the plan on its own inputs (the built-in example), in numbers."""
    from engine import default_config, example_positions, project_plan, risk_report, simulate_plan

    cfg = default_config()
    book = example_positions()
    months = cfg.projection.months
    value = {
        a: project_plan(cfg, assumption=a)["portfolio_value"].iloc[-1]
        for a in ("worthless", "expected", "physical")
    }
    rep = risk_report(book, cfg)
    alerts = {a["alert"]: a for a in rep["alerts"]}
    bp = alerts["BUYING_POWER_EXCEEDED"]
    acct = rep["account"]
    sim = simulate_plan(cfg, book, paths=cfg.simulation.paths, seed=cfg.simulation.seed).to_dict()
    # the same run sized as volarb sized it before issue 9 (the premium counted as capital used)
    old = simulate_plan(
        cfg.replace(simulation__sizing="full_requirement"),
        book,
        paths=cfg.simulation.paths,
        seed=cfg.simulation.seed,
        deterministic=False,
    ).to_dict()
    last, old_last = sim["percentiles"][-1], old["percentiles"][-1]
    from engine.plan.margin import capital_per_contract

    reg_t_net = capital_per_contract("reg_t", cfg.market.spot, 2.5, 0.0, "put", cfg.capital, cfg.margin)
    tgt = sim["prob_targets"]["expected"]
    invested = sim["invested"]
    return "\n".join(
        [
            "Run on the plan's own inputs (the built-in example), volarb says:",
            "",
            f"* **The plan's growth table assumes every put expires worthless.** Recomputed with its own "
            f'rules and model premiums (sized under `capital.model = "{cfg.capital.model}"`: capital per '
            f"contract net of the premium, capped by buying power), that assumption gives "
            f"${value['worthless']:,.0f} after {months} months "
            f"(the plan prints $67,324). Weighting assignment losses by the pricing model's own "
            f"probabilities gives ${value['expected']:,.0f} - about the ${invested:,.0f} put in: at fair "
            f"prices, selling puts earns nothing on average. If the stock's realized vol is "
            f"{cfg.simulation.realized_vol:.0%} instead of the implied {cfg.market.vol:.0%} (the seller's edge; "
            f"the plan states none, so this is the assumption `simulation.realized_vol`), "
            f"${value['physical']:,.0f}.",
            f"* **The starting book fits the account's margin, not its risk limits.** On one basis "
            f"(FINRA 4210 / CBOE strategy-based, `[margin]` at the FINRA minimums) its requirement net of "
            f"the positions' value (the long calls, without loan value, count at their value) is ${acct['maintenance_requirement_net']:,.0f} against "
            f"${acct['net_liquidation']:,.0f} of net liquidation value (full basis: "
            f"${acct['maintenance_requirement']:,.0f} against ${acct['equity_with_loan_value']:,.0f} of equity "
            f"with loan value), leaving ${acct['buying_power']:,.0f} of buying power: BUYING_POWER_EXCEEDED "
            f"{'fires' if bp['status'] == 'ALERT' else 'does not fire'}. But "
            f"one-day 95% VaR is ${alerts['VAR_LIMIT_BREACH']['value']:,.0f}, "
            f"{alerts['VAR_LIMIT_BREACH']['value'] / cfg.account.starting_value:.0%} of the account against "
            f"the plan's 5% limit; the $2.50 strike alone obliges ${alerts['CONCENTRATION_RISK']['value']:,.0f} "
            f"if assigned.",
            f"* **Monte Carlo of the whole plan** ({sim['paths']:,} paths, seed {sim['seed']}, realized vol "
            f"{cfg.simulation.realized_vol:.0%}, implied vol mean-reverting from {cfg.market.vol:.0%} toward "
            f"{cfg.simulation.iv_long_run:.0%}; American options exercised early at the boundary; margin calls "
            f"when the maintenance requirement exceeds equity with loan value). With the plan's own sizing "
            f"- {sim['sizing']}; {sim['costs']} - median equity after {months} months "
            f"${last['p50']:,.0f} (5th-95th percentile ${last['p5']:,.0f} - ${last['p95']:,.0f}); "
            f"probability of ending below the ${invested:,.0f} invested {sim['prob_loss']:.0%}; of a margin "
            f'call (forced liquidation) {sim["prob_margin_call"]:.0%}; of reaching the plan\'s "expected" '
            f"$60,000-$70,000 {tgt['in_range']:.1%}; mean trading costs ${sim['mean_discounted_costs']:,.0f}. "
            f"Net of the premium, Reg T asks only ${reg_t_net:,.0f} a contract for the $2.50 put "
            f"(max(20% of the stock less the out-of-the-money amount, 10% of the strike)), so the monthly "
            f"budget sells many contracts and most paths are margin-called.",
            f"* **Sized as before issue 9** - {old['sizing']}; same costs - probability of a margin call "
            f"{old['prob_margin_call']:.1%}, median ${old_last['p50']:,.0f} (5th-95th percentile "
            f"${old_last['p5']:,.0f} - ${old_last['p95']:,.0f}). The 73% margin-call probability volarb "
            f"reported before issue 9 came mostly from counting the option's value twice (a requirement that "
            f"includes the premium compared with net liquidation value, which has already subtracted it; "
            f"issue 9 found 258 of 1,000 paths liquidated on day 1).",
            "",
            "These figures are regenerated from the code (`python tools/gen_docs.py`; a test checks "
            "they are current); `volarb build` puts them, and their distributions, in the report.",
        ]
    )


@section("audit")
def audit_table() -> str:
    from engine.config import default_config
    from engine.plan.projection import plan_discrepancies

    table = plan_discrepancies(default_config())
    table = table[table["status"] == "disagrees"]
    lines = ["| item | plan prints | its own formula gives | how | note |", "|---|---|---|---|---|"]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.item} | {_fmt(row.printed)} | {_fmt(row.computed)} | {_fmt(row.formula)} | {_fmt(row.note)} |"
        )
    return "\n".join(lines)


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{fn()}\n{end}{tail}"
    return text


def pages(root: Path = ROOT) -> list[Path]:
    """Every Markdown page of docs/ that holds at least one generated section."""
    found = []
    for page in sorted((root / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if any(f"<!-- {name}:start -->" in text for name in SECTIONS):
            found.append(page)
    return found


def main(argv: list[str], root: Path = ROOT) -> int:
    stale = []
    for page in pages(root):
        text = page.read_text(encoding="utf-8")
        new = render(text)
        if new == text:
            continue
        stale.append(page.relative_to(root))
        if "--check" not in argv:
            page.write_text(new, encoding="utf-8")
    if "--check" in argv and stale:
        print(f"generated sections out of date in {', '.join(map(str, stale))}: run python tools/gen_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
