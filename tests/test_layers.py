"""The import contract: textclf's packages form layers, and a module imports only from its own package or
from a layer below it, never from a layer above nor from a sibling package on its own layer, and no two
modules import each other, even through others. Imports inside functions count: they are how a
dependency that runs the wrong way usually hides.

    errors -> logs -> files -> data -> model -> training | serve -> pretraining -> baseline -> compare | tune -> commands -> textclf -> cli

(`textclf`: the package's own __init__, the Python API.)
"""

import ast
from pathlib import Path

from conftest import ROOT

# lowest first; the packages of one entry are siblings that must not import each other
LAYERS = [
    ("textclf.errors",),
    ("textclf.logs",),
    ("textclf.files",),
    ("textclf.data",),
    ("textclf.model",),
    ("textclf.training", "textclf.serve"),
    ("textclf.pretraining",),
    ("textclf.baseline",),
    ("textclf.compare", "textclf.tune"),
    ("textclf.commands",),
    ("textclf",),  # the package root only: textclf/__init__.py
    ("textclf.cli",),
]


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package in `package_dir`, by dotted name."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (functions included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` packages up
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the module pkg.sub; `from mod import name` imports mod
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a non-module attribute: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> tuple[int, str]:
    """(layer index, package) of a module: the longest package prefix named in LAYERS."""
    best = None
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if (name == package or (package != "textclf" and name.startswith(package + "."))) and (
                    best is None or len(package) > len(best[1])):
                best = (index, package)
    if best is None:
        raise AssertionError(f"{name} is in no layer: add its package to LAYERS in tests/test_layers.py")
    return best


def violations(package_dir: Path) -> list[str]:
    """Every import that breaks the contract, and every cycle, as a line naming the modules."""
    modules = module_names(package_dir)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    problems = []
    for name, targets in sorted(graph.items()):
        (mine, my_package) = layer_of(name)
        for target in sorted(targets):
            (theirs, their_package) = layer_of(target)
            if theirs > mine:
                problems.append(f"{name} imports {target}, a layer above it ({their_package} is above {my_package})")
            elif theirs == mine and their_package != my_package:
                problems.append(f"{name} imports {target}: {my_package} and {their_package} are siblings")
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import each other (depth-first search)."""
    found, done, stack = [], set(), []
    on_stack: set[str] = set()

    def visit(node: str) -> None:
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return found


def test_textclf_keeps_its_layers_and_has_no_import_cycle():
    assert violations(ROOT / "textclf") == []


def test_every_package_is_in_a_layer():
    for name in module_names(ROOT / "textclf"):
        layer_of(name)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "textclf" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "textclf"


def test_the_check_finds_an_upward_import_inside_a_function_a_sibling_import_and_a_cycle(tmp_path):
    package = write(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "model/__init__.py": "",
        "model/network.py": "def build():\n    from textclf.training.module import Lit\n",
        "model/a.py": "from textclf.model import b\n",
        "model/b.py": "from . import a\n",
        "training/__init__.py": "",
        "training/module.py": "import textclf.serve.classifier\n",
        "serve/__init__.py": "",
        "serve/classifier.py": "from textclf.errors import TextclfError\n",
    })
    assert violations(package) == [
        "textclf.model.network imports textclf.training.module, a layer above it (textclf.training is above textclf.model)",
        "textclf.training.module imports textclf.serve.classifier: textclf.training and textclf.serve are siblings",
        "import cycle: textclf.model.a -> textclf.model.b -> textclf.model.a",
    ]


def test_no_module_is_over_350_lines():
    long = {name: n for name, path in module_names(ROOT / "textclf").items()
            if (n := len(path.read_text().splitlines())) > 350}
    assert long == {}, "split these by concern"
