"""The engine stays light: importing it pulls in no Excel library, no scipy.stats, no UI layer.

House style rule 1: ``engine/`` imports only the standard library, numpy, scipy and pandas.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_FILES = sorted((ROOT / "engine").glob("*.py"))
# pandas and exchange_calendars are loaded lazily (engine.__getattr__) to keep import fast
FORBIDDEN_MODULES = ("xlwings", "openpyxl", "scipy.stats", "workbook", "udfs", "pandas", "exchange_calendars")
FORBIDDEN_IMPORTS = ("xlwings", "openpyxl", "workbook", "udfs")


def test_importing_engine_in_a_fresh_interpreter_loads_nothing_forbidden():
    code = "import json, sys; import engine; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    loaded = set(json.loads(out.stdout))
    leaked = sorted(m for m in loaded for bad in FORBIDDEN_MODULES if m == bad or m.startswith(bad + "."))
    assert not leaked, f"importing engine loaded {leaked}"


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_engine_sources_are_found():
    assert any(p.name == "black.py" for p in ENGINE_FILES)


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: p.name)
def test_engine_source_has_no_excel_or_ui_import(path):
    bad = [n for n in _imported_names(path) for f in FORBIDDEN_IMPORTS if n == f or n.startswith(f + ".")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
