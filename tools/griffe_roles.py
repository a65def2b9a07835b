"""Griffe extension for the docs site: Sphinx roles in docstrings become links or code.

The docstrings cross-reference with Sphinx roles (``:func:`bs_price```, ``:mod:`engine.units```),
which mkdocstrings shows as literal text. After the packages are loaded, every role is rewritten:
to an autorefs link ``[`name`][full.path]`` when the name resolves to one documented object (a
full dotted path, a name relative to the docstring's module or class, or a name defined exactly
once in the package), and to plain code ```name``` otherwise, so a moved or renamed object never
breaks the strict build. Nothing in the source files changes. Configured in mkdocs.yml
(``extensions: [tools/griffe_roles.py]``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|obj|exc|const):`(~?)([^`<]+?)`")


def _documented(obj: griffe.Object) -> bool:
    """True when mkdocstrings renders obj (and so registers its anchor) with the site's options."""
    node = obj
    while node is not None and not node.is_module:
        if node.is_alias or not node.docstring:
            return False
        if node.name.startswith("_") and not node.name.startswith("__"):
            return False
        node = node.parent
    return True


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx cross-reference roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        objects = list(_walk(pkg))
        by_path = {o.path: o for o in objects}
        by_name: dict[str, list[griffe.Object]] = defaultdict(list)
        for o in objects:
            by_name[o.name].append(o)

        def resolve(target: str, context: griffe.Object) -> griffe.Object | None:
            if target in by_path:
                return by_path[target]
            scope = context
            while scope is not None:
                hit = by_path.get(f"{scope.path}.{target}")
                if hit is not None:
                    return hit
                scope = scope.parent
            last = target.rsplit(".", 1)[-1]
            hits = [o for o in by_name.get(last, []) if o.path.endswith(target)]
            return hits[0] if len(hits) == 1 else None

        for obj in objects:
            if not obj.docstring:
                continue

            def replace(match: re.Match, obj: griffe.Object = obj) -> str:
                tilde, target = match.group(1), match.group(2).strip()
                shown = target.rsplit(".", 1)[-1] if tilde else target
                hit = resolve(target.removesuffix("()"), obj)
                if hit is not None and _documented(hit):
                    return f"[`{shown}`][{hit.path}]"
                return f"`{shown}`"

            obj.docstring.value = ROLE.sub(replace, obj.docstring.value)
