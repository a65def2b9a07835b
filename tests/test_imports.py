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
ENGINE_FILES = sorted((ROOT / "engine").rglob("*.py"))
# pandas and exchange_calendars are loaded lazily (engine.__getattr__) to keep import fast
FORBIDDEN_MODULES = ("xlwings", "openpyxl", "scipy.stats", "workbook", "udfs", "pandas", "exchange_calendars")
FORBIDDEN_IMPORTS = ("xlwings", "openpyxl", "workbook", "udfs", "connect")


def test_importing_engine_in_a_fresh_interpreter_loads_nothing_forbidden():
    code = "import json, sys; import engine; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
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


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_source_has_no_excel_or_ui_import(path):
    bad = [n for n in _imported_names(path) for f in FORBIDDEN_IMPORTS if n == f or n.startswith(f + ".")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


WORKBOOK_FILES = sorted((ROOT / "workbook").rglob("*.py"))
UDF_FILES = sorted((ROOT / "udfs").rglob("*.py"))


@pytest.mark.parametrize("path", WORKBOOK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_workbook_never_imports_udfs(path):
    bad = [n for n in _imported_names(path) if n == "udfs" or n.startswith("udfs.")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", UDF_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_udfs_import_only_the_data_only_layout_map_of_workbook(path):
    bad = [
        n
        for n in _imported_names(path)
        if (n == "workbook" or n.startswith("workbook.")) and n != "workbook.layout"
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad} (only workbook.layout is allowed)"


def test_the_layout_map_is_data_only():
    names = [n for n in _imported_names(ROOT / "workbook" / "layout.py") if n != "__future__"]
    assert names == [], f"workbook/layout.py imports {names}: the UDFs rely on it being data only"


def test_importing_the_udfs_does_not_load_openpyxl():
    code = "import json, sys; import udfs.functions; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(out.stdout))
    assert not any(m == "openpyxl" or m.startswith("openpyxl.") for m in loaded)
    assert "workbook.report" not in loaded and "workbook.cli" not in loaded
