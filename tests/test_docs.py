"""The README's generated config table matches engine/config.py, and names every key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.config import config_reference

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_readme.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_names_every_config_key():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [r["key"] for r in config_reference() if f"`{r['key']}`" not in text]
    assert missing == []


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -e ".[test]" && python -m pytest'
    assert command in readme
    assert command in ci
