"""The import rules of docs/architecture.md, checked from the code: every import in jbert_tf2/
(deferred ones inside functions included) goes to the importer's own layer or a lower one, and no
modules import each other in a loop. The layer table is read from the document itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jbert_tf2"
DOC = ROOT / "docs" / "architecture.md"


def layer_table() -> dict[str, int]:
    """``{top-level name under jbert_tf2: layer}`` from the table between the layer markers."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- layers: start -->")[1].split("<!-- layers: end -->")[0]
    layers = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue
        for name in re.findall(r"`([\w.]+)`", cells[1]):
            layers[name] = int(cells[0])
    return layers


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The jbert_tf2 modules ``path`` imports (resolved to the longest known module name),
    the modules its lazy-export tables name as strings included, skipping
    ``if TYPE_CHECKING:`` blocks, which never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # lazy_exports tables name their modules as strings ("jbert_tf2.tasks.registry")
            if not re.fullmatch(r"jbert_tf2(\.\w+)+", node.value):
                continue
            names = [node.value]
        else:
            continue
        for target in names:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imported_modules(name, path, set(mods)) for name, path in mods.items()}


def layer_of(module: str, layers: dict[str, int]) -> int:
    """The layer of a module: that of its top-level name under jbert_tf2 (the root package's
    ``__init__`` is the public facade, the top layer)."""
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    if key not in layers:
        pytest.fail(f"{module}: its package {key!r} is missing from the layer table in {DOC}")
    return layers[key]


def test_the_layer_table_lists_every_package_once_and_nothing_else():
    layers = layer_table()
    tops = {name.split(".")[1] if "." in name else "__init__" for name in modules()}
    assert set(layers) == tops, (
        f"in the table, not in the code: {sorted(set(layers) - tops)}; "
        f"in the code, not in the table: {sorted(tops - set(layers))}"
    )


def test_no_import_goes_to_a_higher_layer():
    layers = layer_table()
    upward = [
        f"{source} (layer {layer_of(source, layers)}) imports {target} "
        f"(layer {layer_of(target, layers)})"
        for source, targets in import_graph().items()
        for target in sorted(targets)
        if layer_of(target, layers) > layer_of(source, layers)
    ]
    assert not upward, "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def test_no_import_loop_between_modules():
    loops = strongly_connected(import_graph())
    assert not loops, "modules importing each other: " + "; ".join(" <-> ".join(g) for g in loops)


def test_the_loop_finder_finds_loops():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_deferred_and_relative_imports_are_seen(tmp_path):
    source = tmp_path / "jbert_tf2" / "tokenization" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from jbert_tf2.cli import common\n"
        "def f():\n    from jbert_tf2.tasks.base import TaskModel\n"
        "from . import base\n"
        'LAZY = {"Thing": "jbert_tf2.cli.common"}\n',
        encoding="utf-8",
    )
    known = {"jbert_tf2.tasks.base", "jbert_tf2.cli.common", "jbert_tf2.tokenization.base"}
    assert imported_modules("jbert_tf2.tokenization.x", source, known) == {
        "jbert_tf2.tasks.base",
        "jbert_tf2.tokenization.base",
        "jbert_tf2.cli.common",
    }


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("jbert_tf2.tokenization.encoding", "jbert_tf2.tokenization.base", "Tokenizer"),
        ("jbert_tf2.tokenization.encoding", "jbert_tf2.tokenization.text", "check_text"),
        ("jbert_tf2.tasks.loading", "jbert_tf2.tasks.registry", "load_task"),
        (
            "jbert_tf2.models.pretraining",
            "jbert_tf2.models.bert_pretraining",
            "BertPretrainingModel",
        ),
        ("jbert_tf2.pretraining.models", "jbert_tf2.pretraining.pretrainers", "ElectraPretrainer"),
        ("jbert_tf2.checkpoint.model_dir", "jbert_tf2.model_dir", "read_model_dir"),
        ("jbert_tf2.checkpoint.model_dir", "jbert_tf2.model_dir", "load"),
        ("jbert_tf2.checkpoint.convert", "jbert_tf2.conversion.convert", "convert"),
        ("jbert_tf2.tokenization.loading", "jbert_tf2.model_dir.tokenizer_file", "load_tokenizer"),
    ],
)
def test_moved_modules_keep_their_old_path_for_one_release(old, new, name):
    import importlib

    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError):
        importlib.import_module(old).no_such_name  # noqa: B018


def test_only_backend_imports_tensorflow():
    """backend.py decides how TensorFlow is imported (quiet native logs, a clear error when it
    is missing); other modules call `jbert_tf2.backend.tensorflow()`. Type-only imports are fine."""
    direct = []
    for name, path in modules().items():
        if name == "jbert_tf2.backend":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(n) for child in node.body for n in ast.walk(child))
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            if "tensorflow" in roots:
                direct.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not direct, "import TensorFlow through jbert_tf2.backend: " + ", ".join(direct)
