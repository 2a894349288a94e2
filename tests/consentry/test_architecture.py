"""The product's modules import each other in one direction only, and the consent app stays small.

The import graph is built from the source with `ast`, not by importing anything: a cycle
that only bites in one import order (a worker that imports the spool first, a management
command that imports a view first) is still found. Only imports that run when a module is
loaded count. An import inside a function, or under `if TYPE_CHECKING:`, runs later or never,
and is the accepted way to break a cycle (a Celery task that imports its service).
"""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Folders that are not product code, wherever they sit.
SKIPPED_DIRS = frozenset({"migrations", "tests", "__pycache__"})
CONSENT_MAX_LINES = 1500


@dataclass(frozen=True)
class Import:
    """One module-level import of one product module by another."""

    source: str
    target: str
    path: Path
    lineno: int
    text: str


def product_packages(root: Path) -> list[str]:
    """The top-level packages pyproject.toml ships, plus the audit app once it exists."""
    with (root / "pyproject.toml").open("rb") as fh:
        patterns = tomllib.load(fh)["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {
        child.name
        for child in root.iterdir()
        if (child / "__init__.py").is_file()
        and any(fnmatch.fnmatchcase(child.name, pattern) for pattern in patterns)
    }
    if (root / "audit" / "__init__.py").is_file():
        found.add("audit")
    return sorted(found)


def product_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every product module by dotted name; a package is its `__init__.py`."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if SKIPPED_DIRS.intersection(parts[:-1]):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports that run while the module loads: not in a function, not for the type checker.

    Class bodies, `try`, `with` and ordinary `if` blocks run at load time, so they count.
    """
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.ClassDef | ast.With | ast.AsyncWith):
            yield from _module_level_imports(node.body)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_level_imports(block)
            for handler in node.handlers:
                yield from _module_level_imports(handler.body)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                yield from _module_level_imports(case.body)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The product module `name` loads: itself, or its nearest enclosing product package."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path, modules: dict[str, Path]) -> list[Import]:
    """Every module-level import from one product module to another, with its source line."""
    edges: list[Import] = []
    for module, path in modules.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        is_package = path.name == "__init__.py"
        for node in _module_level_imports(ast.parse(source, filename=str(path)).body):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    # `from . import x` in a package's __init__ is relative to that package.
                    anchor = module.split(".")
                    drop = node.level - 1 if is_package else node.level
                    anchor = anchor[: len(anchor) - drop] if drop else anchor
                    base = ".".join([*anchor, node.module] if node.module else anchor)
                else:
                    base = node.module or ""
                # `from pkg import sub` loads the submodule when there is one, else pkg itself.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            text = " ".join(
                line.strip() for line in lines[node.lineno - 1 : node.end_lineno or node.lineno]
            )
            for target in dict.fromkeys(targets):
                resolved = _resolve(target, modules)
                if resolved is not None:
                    rel = path.relative_to(root)
                    edges.append(Import(module, resolved, rel, node.lineno, text))
    return edges


def strongly_connected(nodes: Iterable[str], edges: Iterable[Import]) -> list[list[str]]:
    """Tarjan's components: one of two or more modules, or a module importing itself, is a cycle."""
    succ: dict[str, set[str]] = {node: set() for node in nodes}
    for edge in edges:
        succ[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(succ[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in succ[node]:
                components.append(sorted(component))

    for node in sorted(succ):
        if node not in index:
            visit(node)
    return sorted(components)


def _shortest_cycle(start: str, component: set[str], edges: list[Import]) -> list[Import]:
    """The fewest imports that lead from `start` back to itself inside one component."""
    out: dict[str, list[Import]] = {}
    for edge in edges:
        if edge.source in component and edge.target in component:
            out.setdefault(edge.source, []).append(edge)
    came_by: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in out.get(node, []):
            if edge.target == start:
                path = [edge]
                while path[0].source != start:
                    path.insert(0, came_by[path[0].source])
                return path
            if edge.target not in came_by:
                came_by[edge.target] = edge
                queue.append(edge.target)
    return []


def describe_cycles(components: list[list[str]], edges: list[Import]) -> str:
    """One paragraph per cycle: the loop in short, then every import line that holds it closed."""
    blocks = []
    for number, component in enumerate(components, 1):
        members = set(component)
        loop = _shortest_cycle(component[0], members, edges)
        inside = sorted(
            (e for e in edges if e.source in members and e.target in members),
            key=lambda e: (str(e.path), e.lineno),
        )
        lines = [
            f"cycle {number}: {len(component)} module(s): {', '.join(component)}",
            "  for example: " + " -> ".join([*(e.source for e in loop), component[0]]),
            "  the module-level imports inside it:",
            *(f"    {e.path}:{e.lineno}  {e.text}   ({e.source} -> {e.target})" for e in inside),
        ]
        blocks.append("\n".join(lines))
    return (
        f"{len(components)} import cycle(s) among the product's modules. Break each by moving"
        " the shared piece to the lower module, or by importing inside the function that needs"
        " it (see docs/architecture.md):\n\n" + "\n\n".join(blocks)
    )


def python_lines(folder: Path) -> int:
    return sum(
        len(path.read_text(encoding="utf-8").splitlines())
        for path in folder.rglob("*.py")
        if not SKIPPED_DIRS.intersection(path.relative_to(folder).parts[:-1])
    )


def test_the_product_modules_import_each_other_without_a_cycle() -> None:
    modules = product_modules(ROOT, product_packages(ROOT))
    edges = import_graph(ROOT, modules)
    cycles = strongly_connected(modules, edges)
    assert not cycles, describe_cycles(cycles, edges)


def test_the_graph_reads_every_product_app() -> None:
    # A graph that silently lost an app (a renamed pyproject key, a moved folder) would pass.
    packages = product_packages(ROOT)
    for app in ("consent", "consentry", "contacts", "tracker", "emails", "forms", "focus"):
        assert app in packages
    modules = product_modules(ROOT, packages)
    assert "consent.gate" in modules
    assert not any(".migrations" in name for name in modules)
    edges = {(e.source, e.target) for e in import_graph(ROOT, modules)}
    # The views that answer public requests ask the gate, so the graph must see it.
    assert ("tracker.views", "consent.gate") in edges


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_cycle_is_reported_with_the_lines_that_close_it(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\ninclude = ["shop*"]\n',
            "shop/__init__.py": "",
            "shop/orders.py": "from shop import stock\n",
            "shop/stock.py": "import os\n\nfrom .orders import LIMIT\n",
            "shop/migrations/__init__.py": "",
            "shop/migrations/0001_initial.py": "from shop import orders\n",
        },
    )
    modules = product_modules(tmp_path, product_packages(tmp_path))
    edges = import_graph(tmp_path, modules)
    cycles = strongly_connected(modules, edges)
    assert cycles == [["shop.orders", "shop.stock"]]
    message = describe_cycles(cycles, edges)
    assert "shop/orders.py:1  from shop import stock" in message
    assert "shop/stock.py:3  from .orders import LIMIT" in message
    assert "shop.orders -> shop.stock -> shop.orders" in message


def test_a_module_importing_itself_is_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\ninclude = ["shop*"]\n',
            "shop/__init__.py": "",
            "shop/orders.py": "from shop.orders import thing\n",
        },
    )
    modules = product_modules(tmp_path, product_packages(tmp_path))
    assert strongly_connected(modules, import_graph(tmp_path, modules)) == [["shop.orders"]]


def test_lazy_imports_in_functions_and_for_the_type_checker_are_allowed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\ninclude = ["shop*"]\n',
            "shop/__init__.py": "",
            "shop/orders.py": "from shop import stock\n",
            "shop/stock.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from shop.orders import Order\n"
                "def reserve():\n"
                "    from shop import orders\n"
            ),
            "shop/tasks.py": "class Job:\n    from shop import orders\n",
        },
    )
    modules = product_modules(tmp_path, product_packages(tmp_path))
    edges = import_graph(tmp_path, modules)
    assert strongly_connected(modules, edges) == []
    # An import in a class body runs at load time, so it is an edge.
    assert ("shop.tasks", "shop.orders") in {(e.source, e.target) for e in edges}


def test_an_app_created_by_the_audit_move_is_read_too(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\ninclude = ["shop*"]\n',
            "shop/__init__.py": "",
            "audit/__init__.py": "",
            "audit/driver.py": "from shop import orders\n",
            "shop/orders.py": "from audit import driver\n",
        },
    )
    modules = product_modules(tmp_path, product_packages(tmp_path))
    assert strongly_connected(modules, import_graph(tmp_path, modules)) == [
        ["audit.driver", "shop.orders"]
    ]


def test_the_consent_app_stays_small() -> None:
    # The consent app holds the gate, the cookies, the cookie registry and the consent records;
    # anything else that grows there belongs in its own app.
    lines = python_lines(ROOT / "consent")
    assert lines < CONSENT_MAX_LINES, f"consent/ holds {lines} lines of Python (migrations aside)"
