"""Regenerate the generated sections of README.md (config keys table).

Usage: ``python tools/gen_readme.py`` rewrites README.md in place; ``--check`` exits 1 when the
README is out of date (tests/test_docs.py runs the check).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import config_reference  # noqa: E402

START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"


def config_table() -> str:
    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for r in config_reference():
        lines.append(f"| `{r['key']}` | {r['default']} | {r['allowed']} | {r['meaning']} |")
    return "\n".join(lines)


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{config_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md config table is out of date: run python tools/gen_readme.py")
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
