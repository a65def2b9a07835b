"""Regenerate the generated sections of README.md.

Sections: the config keys table (from engine/config.py), the audit of the plan's printed
numbers (from engine.projection.plan_discrepancies), and docs/excel.md, docs/cli.md and
docs/benchmarks.md included verbatim (edit those files, not the README copy).

Usage: ``python tools/gen_readme.py`` rewrites README.md in place; ``--check`` exits 1 when the
README is out of date (tests/test_docs.py runs the check).
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


def _include(name: str):
    """docs/<name> verbatim, with its headings shifted so the top level is ``##``."""

    def read() -> str:
        lines = (ROOT / "docs" / name).read_text(encoding="utf-8").strip().splitlines()
        in_code = False
        levels = []
        for line in lines:
            in_code ^= line.startswith("```")
            if not in_code and line.startswith("#"):
                levels.append(len(line) - len(line.lstrip("#")))
        shift = 2 - min(levels) if levels else 0
        out, in_code = [], False
        for line in lines:
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("#") and shift:
                line = "#" * shift + line if shift > 0 else line[-shift:]
            out.append(line)
        return "\n".join(out)

    return read


for _name, _file in (("excel", "excel.md"), ("cli", "cli.md"), ("bench", "benchmarks.md"),
                     ("architecture", "architecture.md")):
    SECTIONS[_name] = _include(_file)


@section("audit")
def audit_table() -> str:
    from engine.config import default_config
    from engine.projection import plan_discrepancies

    table = plan_discrepancies(default_config())
    table = table[table["status"] == "disagrees"]
    lines = ["| item | plan prints | its own formula gives | how | note |", "|---|---|---|---|---|"]
    for row in table.itertuples(index=False):
        lines.append(f"| {row.item} | {_fmt(row.printed)} | {_fmt(row.computed)} | {_fmt(row.formula)} | {_fmt(row.note)} |")
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


def main(argv: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md generated sections are out of date: run python tools/gen_readme.py")
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
