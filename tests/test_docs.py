"""The docs site is current with the code, and the README is the short entry point into it.

Generated content (the config table and the plan audit in docs/, the API pages and their nav)
must match what the generators produce now; the README keeps the two Quick start commands that
.ci/run runs, and every link in the README and the docs points at a file that exists.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine.config import config_reference

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "workbook", "udfs", "connect")
BUILD = "pip install -e . && volarb build"
TEST = 'pip install -e ".[test]" && python -m pytest'


def _tool(name: str):
    """Import tools/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / script), *args], capture_output=True, text=True, cwd=ROOT
    )


# --- generated sections: config table, findings, audit ------------------------------------------


def test_generated_doc_sections_are_current():
    result = _run("gen_docs.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_sections_live_in_the_docs_pages():
    config = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    findings = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert "<!-- config-table:start -->" in config
    assert "<!-- findings:start -->" in findings and "<!-- audit:start -->" in findings


def test_config_page_names_every_config_key():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    missing = [r["key"] for r in config_reference() if f"`{r['key']}`" not in text]
    assert missing == []


def test_gen_docs_rewrites_a_stale_section_and_check_then_passes(tmp_path):
    gen = _tool("gen_docs")
    page = tmp_path / "docs" / "config.md"
    page.parent.mkdir()
    page.write_text(
        "# keys\n\n<!-- config-table:start -->\n| stale |\n<!-- config-table:end -->\n\nafter\n",
        encoding="utf-8",
    )
    assert gen.main(["--check"], root=tmp_path) == 1
    assert "| stale |" in page.read_text(encoding="utf-8")  # --check writes nothing
    assert gen.main([], root=tmp_path) == 0
    text = page.read_text(encoding="utf-8")
    assert "| stale |" not in text and "| `market.spot` |" in text and text.endswith("after\n")
    assert gen.main(["--check"], root=tmp_path) == 0


# --- API reference pages ------------------------------------------------------------------------


def _module_files():
    """(dotted name, expected page) of every importable module, found independently of the tool."""
    out = []
    for package in PACKAGES:
        if not (ROOT / package / "__init__.py").is_file():
            continue
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if path.name == "__main__.py" or "__pycache__" in rel.parts:
                continue
            if not all(
                (ROOT.joinpath(*rel.parts[:i]) / "__init__.py").is_file() for i in range(1, len(rel.parts))
            ):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                out.append((".".join(parts[:-1]), Path("docs/api", *parts[:-1], "index.md")))
            else:
                out.append((".".join(parts), Path("docs/api", *parts[:-1], parts[-1] + ".md")))
    return out


def test_api_docs_are_current():
    result = _run("gen_api_docs.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_has_an_api_page_in_the_nav():
    nav = _nav_pages((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    index = (ROOT / "docs" / "api" / "index.md").read_text(encoding="utf-8")
    modules = _module_files()
    assert any(name == "engine.black" or name.endswith(".black") for name, _ in modules)
    for name, page in modules:
        assert (ROOT / page).is_file(), f"{name}: no page {page}"
        assert f"::: {name}\n" in (ROOT / page).read_text(encoding="utf-8"), page
        assert page.relative_to("docs").as_posix() in nav, f"{page} not in the mkdocs.yml nav"
        assert f"[`{name}`]" in index, f"{name} not in docs/api/index.md"


def _nav_pages(text: str) -> set[str]:
    """The page paths named in mkdocs.yml's nav (one entry a line: ``- page.md`` or ``- Title: page.md``)."""
    return set(re.findall(r"^\s*- (?:[^\n]*?: )?([\w./-]+\.md)\s*$", text, flags=re.M))


def _tiny_tree(root: Path) -> None:
    (root / "engine").mkdir()
    (root / "engine" / "__init__.py").write_text('"""The engine."""\n', encoding="utf-8")
    (root / "engine" / "black.py").write_text('"""The Black kernel.\n\nMore text."""\n', encoding="utf-8")
    (root / "docs").mkdir()
    (root / "mkdocs.yml").write_text(
        "site_name: t\nnav:\n  - Home: index.md\n  # api-nav:start\n  # api-nav:end\n", encoding="utf-8"
    )


def test_api_generator_follows_a_moved_module(tmp_path):
    """The lead's restructuring: engine/black.py -> engine/pricing/black.py, then a re-run."""
    gen = _tool("gen_api_docs")
    _tiny_tree(tmp_path)
    assert gen.main(["--check"], root=tmp_path) == 1
    assert gen.main([], root=tmp_path) == 0
    old = tmp_path / "docs" / "api" / "engine" / "black.md"
    assert "::: engine.black\n" in old.read_text(encoding="utf-8")
    assert "| [`engine.black`](engine/black.md) | The Black kernel. |" in (
        tmp_path / "docs" / "api" / "index.md"
    ).read_text(encoding="utf-8")
    assert gen.main(["--check"], root=tmp_path) == 0

    (tmp_path / "engine" / "pricing").mkdir()
    (tmp_path / "engine" / "pricing" / "__init__.py").write_text('"""Pricing."""\n', encoding="utf-8")
    (tmp_path / "engine" / "black.py").rename(tmp_path / "engine" / "pricing" / "black.py")
    assert gen.main(["--check"], root=tmp_path) == 1
    assert gen.main([], root=tmp_path) == 0
    assert not old.exists()
    new = tmp_path / "docs" / "api" / "engine" / "pricing" / "black.md"
    assert "::: engine.pricing.black\n" in new.read_text(encoding="utf-8")
    nav = (tmp_path / "mkdocs.yml").read_text(encoding="utf-8")
    assert "- engine.pricing.black: api/engine/pricing/black.md" in nav
    assert _nav_pages(nav) == {
        "index.md",
        "api/index.md",
        "api/engine/index.md",
        "api/engine/pricing/index.md",
        "api/engine/pricing/black.md",
    }
    assert nav.startswith("site_name: t\nnav:\n  - Home: index.md\n  # api-nav:start\n  - API reference:")
    assert gen.main(["--check"], root=tmp_path) == 0


# --- README and links ---------------------------------------------------------------------------


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST in readme
    assert TEST in ci


def test_readme_keeps_the_quick_start_and_the_daily_routine():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BUILD in readme
    for command in ("volarb refresh", "volarb risk", "--fail-on-alert", "volarb review"):
        assert command in readme, command
    assert "docs/daily.md" in readme


def test_readme_is_an_entry_point_not_a_copy_of_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ":start -->" not in readme, "generated sections belong in docs/, not the README"
    assert len(readme.splitlines()) <= 100, "keep the README to one or two screens; move detail to docs/"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _relative_links(path: Path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    for target in _LINK.findall(text):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            yield target.split("#", 1)[0]


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))]
)
def test_relative_links_point_at_files(page):
    path = ROOT / page
    broken = [t for t in _relative_links(path) if not (path.parent / t).is_file()]
    assert broken == [], f"{page}: broken links {broken}"


def test_every_docs_page_is_in_the_nav():
    nav = _nav_pages((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert {"index.md", "daily.md", "config.md", "findings.md", "api/index.md"} <= nav
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    assert [p for p in pages if p not in nav] == []


def test_ci_builds_the_docs_site_strictly():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "mkdocs build --strict" in ci
    assert "site/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_sphinx_roles_become_links_to_documented_objects_or_code(tmp_path):
    griffe = pytest.importorskip("griffe", reason='the docs extra: pip install -e ".[docs]"')
    roles = _tool("griffe_roles")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(
        '"""See :func:`f`, :mod:`pkg.sub`, :func:`~pkg.sub.g`, :func:`_hidden`, :func:`nodoc` and '
        ':class:`Missing`."""\n',
        encoding="utf-8",
    )
    (tmp_path / "pkg" / "sub.py").write_text(
        '"""Sub."""\n\ndef f():\n    """F."""\n\ndef g():\n    """G."""\n\n'
        'def _hidden():\n    """H."""\n\ndef nodoc():\n    pass\n',
        encoding="utf-8",
    )
    pkg = griffe.load(
        "pkg", search_paths=[str(tmp_path)], extensions=griffe.load_extensions(roles.SphinxRoles())
    )
    assert pkg.docstring.value == (
        "See [`f`][pkg.sub.f], [`pkg.sub`][pkg.sub], [`g`][pkg.sub.g], `_hidden`, `nodoc` and `Missing`."
    )


@pytest.mark.slow
def test_mkdocs_strict_build_passes(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip('mkdocs not installed: pip install -e ".[docs]" (.ci/run builds the site itself)')
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").is_file()


# --- packaging facts ----------------------------------------------------------------------------


def test_package_data_globs_match_files():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package, patterns in cfg["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            folder = ROOT.joinpath(*package.split("."))
            assert list(folder.glob(pattern)), f"package-data {package}: {pattern} matches nothing"


def test_docs_extra_lists_the_site_tools():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = " ".join(extras["docs"])
    assert "mkdocs-material" in names and "mkdocstrings[python]" in names
