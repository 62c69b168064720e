"""Dependencies flow one way: every ``fame_bench`` import (module level and inside functions)
points to the same layer or one below, and no modules or packages import each other in a cycle.

The layers, bottom to top (``docs/architecture.md`` draws them). A module belongs to the most
specific entry naming it: ``fame_bench.train.experiment`` (the experiment runner) sits above
``fame_bench.train``. bench/ and the report generators share the top library layer (reports
read the benchmark measurements); the command-line entry points are above everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fame_bench

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("fame_bench", "fame_bench.validation", "fame_bench.progress")),
    ("data", ("fame_bench.data", "fame_bench.augment", "fame_bench.models")),
    ("methods", ("fame_bench.methods",)),
    ("train", ("fame_bench.train",)),
    ("evaluate", ("fame_bench.evaluate",)),
    ("experiment", ("fame_bench.train.experiment", "fame_bench.reports", "fame_bench.bench",
                    "fame_bench.cli_help")),
    ("entry", ("fame_bench.cli", "fame_bench.gates")),
]
PACKAGE_DIR = Path(fame_bench.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ("fame_bench",) + path.relative_to(PACKAGE_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The fame_bench modules ``name`` imports anywhere in its body (functions included)."""
    is_package = path.name == "__init__.py"
    found = set()

    def add(target: str) -> None:
        while target and target not in modules:  # a name imported from a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "fame_bench":
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            if base.split(".")[0] != "fame_bench":
                continue
            for alias in node.names:
                add(f"{base}.{alias.name}")
    return found


def _unit(module: str) -> tuple[int, str]:
    """(layer index, most specific layer entry) of ``module``."""
    best = None
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            if module == entry or module.startswith(entry + "."):
                if best is None or len(entry) > len(best[1]):
                    best = (index, entry)
    assert best is not None, f"{module} is in no layer of LAYERS: add it"
    return best


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_is_in_a_layer():
    for module in _modules():
        _unit(module)


def test_no_import_points_up_a_layer():
    upward = []
    for module, targets in sorted(_graph().items()):
        here = _unit(module)[0]
        for target in sorted(targets):
            there = _unit(target)[0]
            if there > here:
                upward.append(f"{module} ({LAYERS[here][0]}) imports {target} "
                              f"({LAYERS[there][0]})")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_import_cycle_between_modules():
    assert _cycles(_graph()) == []


def test_no_import_cycle_between_packages():
    units: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        unit = _unit(module)[1]
        units.setdefault(unit, set()).update(_unit(t)[1] for t in targets if _unit(t)[1] != unit)
    assert _cycles(units) == []


def test_the_checks_catch_a_cycle_and_an_upward_edge():
    """The detectors themselves: a two-module cycle is found, and methods→train is upward."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _unit("fame_bench.train.loop")[0] > _unit("fame_bench.methods.moco")[0]
    assert _unit("fame_bench.train.experiment")[0] > _unit("fame_bench.evaluate.linear")[0]


def test_no_function_local_import_of_the_package():
    """Function-local imports are for optional heavy dependencies only (torchcodec, tqdm,
    matplotlib, tensorboard); one of the package's own modules imported inside a function would
    hide a dependency, or a cycle, from the layer test above."""
    import ast
    from pathlib import Path

    import fame_bench

    hidden = []
    for path in sorted(Path(fame_bench.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{path.name}:{n.lineno} {n.module}" for n in ast.walk(node)
                           if isinstance(n, ast.ImportFrom) and n.level == 0
                           and (n.module or "").split(".")[0] == "fame_bench"]
    assert hidden == []
