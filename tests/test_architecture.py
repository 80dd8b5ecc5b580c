"""The layers of the project, read from the source with ast (nothing is imported): no import circle anywhere,
storage/ and bot/domain/ never import aiogram, handlers/ never import the database libraries or write SQL."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """Every module this one imports, at its top or inside a function (absolute names)."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from bot.domain import moderation" imports the module bot.domain.moderation; a package's
            # __init__ counts only when a name is taken from it
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(modules())
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return frozenset(found)


def project_imports(name: str) -> set[str]:
    inner = set()
    for imported in imports_of(name):
        if imported in modules() and imported != name:
            inner.add(imported)
    return inner


def project_graph() -> dict[str, set[str]]:
    return {name: project_imports(name) for name in modules()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports as a path that ends where it began, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                return [*path[path.index(other):], other]
            if other not in state:
                cycle = visit(other)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def _importing(prefix: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for name in modules():
        if name == prefix or name.startswith(prefix + "."):
            bad = sorted(imported for imported in imports_of(name)
                         if any(imported == root or imported.startswith(root + ".") for root in forbidden))
            if bad:
                found[name] = bad
    return found


def test_the_walker_sees_the_project():
    assert {"bot.app", "bot.domain.moderation", "handlers.moderation", "storage.models"} <= set(modules())
    assert "bot.domain.lifecycle" in project_imports("bot.domain.moderation")
    assert "storage.moderation" in project_imports("bot.domain.lifecycle")  # "from storage import moderation"


def test_the_import_graph_has_no_circle():
    cycle = find_cycle(project_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_storage_and_the_domain_never_import_aiogram():
    assert _importing("storage", ("aiogram",)) == {}
    assert _importing("bot.domain", ("aiogram",)) == {}


def test_handlers_never_import_the_database_libraries():
    assert _importing("handlers", ("sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg")) == {}


SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)
SESSION_SQL = re.compile(r"\bsession\.(exec|execute|scalar|scalars|add|delete|get|merge|flush)\(")


def test_handlers_write_no_sql():
    offenders = {}
    for name, path in modules().items():
        if name.startswith("handlers"):
            source = path.read_text(encoding="utf-8")
            found = SQL.findall(source) + SESSION_SQL.findall(source)
            if found:
                offenders[name] = found
    assert offenders == {}


JOURNEY_ROW = re.compile(r"^\| [^|]+ \|(?P<cells>( [^|]* \|){5})$")
FOLDERS = ("handlers", "bot/ui", "bot/domain", "storage", "tests")


def test_the_readme_journey_table_names_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [match for line in readme.splitlines() if (match := JOURNEY_ROW.match(line))]
    assert len(rows) >= 10
    missing = []
    for row in rows[1:]:  # the first is the header
        cells = [cell.strip() for cell in row.group("cells").strip(" |").split("|")]
        for folder, cell in zip(FOLDERS, cells, strict=True):
            for name in re.findall(r"`([\w/]+\.py)`", cell):
                path = ROOT / (name if "/" in name else f"{folder}/{name}")
                if not path.exists():
                    missing.append(str(path.relative_to(ROOT)))
    assert missing == []
