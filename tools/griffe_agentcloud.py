"""A griffe extension for agentcloud's reference: docstrings read as Markdown, and every
public name has one.

The docstrings are written to read well in ``help()`` and on the site alike, with a few
reStructuredText habits that Markdown would print literally: Sphinx roles
(``:class:`~agentcloud.RetryPolicy```) become mkdocstrings cross-references, so a role
naming nothing the site documents fails the build like any broken link; a paragraph ending
in ``::`` before an indented block loses one colon (the block is code in both languages);
a simple table (``====  ====`` borders above and below the header and at the end) becomes
a Markdown table, a line whose last cell is empty continuing the row above it.

A public name is one that ``from module import *`` exports (its ``__all__``, read at run
time, since some modules compute it lazily), in a module whose dotted path has no part
starting with ``_``; with it, the public methods and properties its class declares. Each
one without a docstring is logged as a warning, which ``mkdocs build --strict`` turns
into an error. Fields of the attrs models are described in their class's docstring.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import griffe

logger = griffe.get_logger("griffe_agentcloud")

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([\w.]+)`")
_LITERAL_BLOCK = re.compile(r"::$", re.MULTILINE)
_TABLE_BORDER = re.compile(r"^ *=+(?:  +=+)+ *$")


def _link(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    shown = target.rsplit(".", 1)[-1] if short else target
    return f"[`{shown}`][{target}]"


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    last = len(spans) - 1
    return [
        line[start : None if n == last else end].strip() for n, (start, end) in enumerate(spans)
    ]


def _markdown_table(border: str, header: str, rows: list[str]) -> list[str]:
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    indent = border[: spans[0][0]]
    table: list[list[str]] = []
    for line in rows:
        cells = _cells(line, spans)
        if table and not cells[-1]:  # a continuation of the row above
            table[-1] = [f"{a} {b}".strip() for a, b in zip(table[-1], cells, strict=True)]
        else:
            table.append(cells)

    def row(cells: list[str]) -> str:
        return indent + "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [row(_cells(header, spans)), indent + "|" + "---|" * len(spans), *map(row, table)]


def _simple_tables(text: str) -> str:
    """reStructuredText simple tables as Markdown tables; anything else as it is."""
    lines = text.split("\n")
    out: list[str] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        if _TABLE_BORDER.match(line) and n + 2 < len(lines) and lines[n + 2] == line:
            end = next((k for k in range(n + 3, len(lines)) if lines[k] == line), None)
            if end is not None:
                out += _markdown_table(line, lines[n + 1], lines[n + 3 : end])
                n = end + 1
                continue
        out.append(line)
        n += 1
    return "\n".join(out)


def as_markdown(text: str) -> str:
    """A docstring's reStructuredText habits turned into Markdown (see the module)."""
    return _simple_tables(_LITERAL_BLOCK.sub(":", _ROLE.sub(_link, text)))


def _public_modules(module: griffe.Module) -> Iterator[griffe.Module]:
    yield module
    for member in module.members.values():
        # Imported modules (``import agentcloud`` in a stub) are aliases, not submodules.
        if not member.is_alias and member.is_module and not member.name.startswith("_"):
            yield from _public_modules(member)  # type: ignore[arg-type]


def _exported(module: griffe.Module) -> list[str]:
    """What ``from module import *`` gives, asked of the imported module itself."""
    names = getattr(importlib.import_module(module.path), "__all__", None)
    if names is None:
        names = [name for name in module.members if not name.startswith("_")]
    return [name for name in names if not name.startswith("__")]


def _target(module: griffe.Module, name: str) -> griffe.Object | None:
    member: Any = module.members.get(name)
    if member is None:
        return None
    try:
        while member.is_alias:
            member = member.final_target
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    found: griffe.Object = member
    return found if found.path.split(".")[0] == module.path.split(".")[0] else None


def _documented_members(cls: griffe.Class) -> Iterator[griffe.Object]:
    for name, member in cls.members.items():
        if name.startswith("_") or member.is_alias:
            continue
        if member.is_function or (member.is_attribute and "property" in member.labels):
            yield member  # type: ignore[misc]


class AgentcloudDocs(griffe.Extension):
    """Markdown docstrings and the missing-docstring check, on the loaded ``package``."""

    def __init__(self, package: str = "agentcloud") -> None:
        super().__init__()
        self.package = package

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != self.package:
            return
        self._rewrite(pkg, seen=set())
        missing: dict[str, str] = {}
        for module in _public_modules(pkg):
            if not module.docstring:
                missing[module.path] = "module"
            for name in _exported(module):
                target = _target(module, name)
                if target is None:
                    continue
                if not target.docstring:
                    missing.setdefault(target.path, f"{module.path}.{name}")
                if target.is_class:
                    for member in _documented_members(target):  # type: ignore[arg-type]
                        if not member.docstring:
                            missing.setdefault(member.path, f"{module.path}.{name}")
        for path, where in sorted(missing.items()):
            shown = "" if where in (path, "module") else f" (public as {where})"
            logger.warning(f"{path}{shown} is public and has no docstring")

    def _rewrite(self, obj: Any, *, seen: set[str]) -> None:
        if obj.is_alias or obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = as_markdown(obj.docstring.value)
        for member in obj.members.values():
            self._rewrite(member, seen=seen)
