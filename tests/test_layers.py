"""Dependencies run one way: no import cycles, no hidden function-local imports,
and the analysis core never imports streamlit."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "burnout"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """Project modules imported at module level, and function-local ones (line, name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top, local = set(), []
    own = _module_name(path)

    def names(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        if node.level:            # relative import: resolve against this package
            base = own.rsplit(".", node.level if path.name != "__init__.py" else node.level - 1)[0]
            mod = f"{base}.{node.module}" if node.module else base
        else:
            mod = node.module or ""
        return [f"{mod}.{a.name}" for a in node.names] + [mod]

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found = [n for n in names(node) if n == "burnout" or n.startswith("burnout.")]
            if not found:
                continue
            if node.col_offset == 0:
                top.update(found)
            else:
                local.append((node.lineno, found[-1]))
    return top, local


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        top, _ = _imports(path)
        # "from burnout.store import frames" names burnout.store.frames, a module, or an attribute of burnout.store
        graph[name] = {t for t in top if t in modules and t != name} | \
                      {t.rsplit(".", 1)[0] for t in top if t not in modules and t.rsplit(".", 1)[0] in modules
                       and t.rsplit(".", 1)[0] != name}
    return graph


def test_no_import_cycles_between_project_modules():
    graph = _graph()
    # a package's __init__ importing its own submodules is how a package exposes them, not a cycle
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not mod.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if state.get(d) is None:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_function_local_imports_of_project_modules():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        found += [f"{path.relative_to(PACKAGE.parent)}:{line} {name}" for line, name in _imports(path)[1]]
    assert not found, "import these at the top of the module:\n" + "\n".join(found)


def test_the_core_never_imports_streamlit():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "ui" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m == "streamlit" or m.startswith("streamlit.") for m in mods):
                offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert not offenders


def test_layers_point_down():
    """scoring <- risk <- leaving <- turnover <- views <- ui/cli; the domain layer imports none of them."""
    graph = _graph()
    below = {"burnout.domain.settings", "burnout.domain.measures", "burnout.domain.time"}
    for m in below:
        assert not {d for d in graph[m] if d.startswith("burnout.") and not d.startswith(("burnout.domain",
                                                                                        "burnout.errors",
                                                                                        "burnout.instruments"))}
    assert "burnout.turnover" not in graph["burnout.leaving"] and "burnout.turnover" not in graph["burnout.risk"]
    assert "burnout.leaving" not in graph["burnout.risk"]
    for core in ("burnout.scoring", "burnout.risk", "burnout.leaving", "burnout.turnover", "burnout.privacy"):
        assert not any(d.startswith(("burnout.views", "burnout.ui", "burnout.cli")) for d in graph[core]), core
