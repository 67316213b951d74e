"""Loading a model directory never executes code: no pickle, eval or unsafe deserialisation
anywhere in the package, values from JSON files are checked against closed lists, and file
names inside model files cannot lead out of the directory (the path cases are in the bad-input
sweep, tests/test_bad_inputs_loaders.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from jbert_tf2.errors import JbertError

PACKAGE = Path(__file__).parent.parent / "jbert_tf2"
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "marshal", "shelve", "joblib", "yaml"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}
# The one module that imports pickle: a reader that refuses every class and function (below).
DATA_ONLY_UNPICKLER = PACKAGE / "cli" / "electra_tags.py"


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_no_unsafe_deserialisation():
    problems = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                if any(n.split(".")[0] in UNSAFE_MODULES for n in names) and not (
                    path == DATA_ONLY_UNPICKLER and names == ["pickle", ""]
                ):
                    problems.append(f"{where}: imports {names}")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                builtin = isinstance(func, ast.Name)
                if builtin and name in UNSAFE_CALLS and not _allowed_import(path, node):
                    problems.append(f"{where}: calls {name}")
                if name == "load" and _owner(func) in {"np", "numpy"}:
                    pickle = [k for k in node.keywords if k.arg == "allow_pickle"]
                    if not pickle or not (
                        isinstance(pickle[0].value, ast.Constant) and pickle[0].value.value is False
                    ):
                        problems.append(f"{where}: np.load without allow_pickle=False")
                if name == "load" and _owner(func) == "torch":
                    problems.append(f"{where}: torch.load (pickle)")
    assert problems == []


def test_the_one_pickle_reader_builds_no_class_or_function():
    """ELECTRA's tag list is a pickled dict; its reader's `find_class` refuses every global, so
    the pickle can build only dicts, strings and numbers, and nothing calls `pickle.load(s)`."""
    tree = ast.parse(DATA_ONLY_UNPICKLER.read_text(encoding="utf-8"))
    unpicklers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) == "pickle.Unpickler" for base in node.bases)
    ]
    assert len(unpicklers) == 1
    (find_class,) = [
        f for f in unpicklers[0].body if isinstance(f, ast.FunctionDef) and f.name == "find_class"
    ]
    assert [type(statement) for statement in find_class.body] in (
        [ast.Raise],
        [ast.Expr, ast.Raise],  # a docstring, then the refusal
    )
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not calls & {"pickle.load", "pickle.loads", "pickle.Unpickler"}


def _owner(func) -> str:
    value = getattr(func, "value", None)
    return value.id if isinstance(value, ast.Name) else ""


def _allowed_import(path: Path, node: ast.Call) -> bool:
    """mecab.py imports the dictionary package by a name from a closed list (checked below)."""
    return path.name == "mecab.py" and getattr(node.func, "id", "") == "__import__"


def test_mecab_dictionary_names_come_from_a_closed_list():
    from jbert_tf2.tokenization.mecab import mecab_tagger

    with pytest.raises(JbertError, match="not supported"):
        mecab_tagger("os")


def test_an_activation_name_is_never_evaluated(tmp_path):
    from jbert_tf2.config import BertConfig
    from jbert_tf2.errors import ConfigError

    marker = tmp_path / "pwned"
    config = dict(
        hidden_size=8,
        num_attention_heads=2,
        num_hidden_layers=1,
        intermediate_size=8,
        vocab_size=10,
        hidden_act=f"__import__('pathlib').Path({str(marker)!r}).touch()",
    )
    with pytest.raises(ConfigError, match="hidden_act"):
        BertConfig.from_dict(config, source="config.json")
    assert not marker.exists()


def test_trainer_checkpoints_with_pickled_objects_are_not_loaded(tmp_path):
    """An .npz holding an object array (a pickle) is refused, never unpickled."""
    from jbert_tf2.training.checkpoints import read_checkpoint

    path = tmp_path / "ckpt-1.npz"
    np.savez(path, weights=np.array([{"x": 1}], dtype=object))
    with pytest.raises((JbertError, ValueError)):
        read_checkpoint(path)


def test_a_tokenizer_json_naming_an_unknown_dictionary_is_refused(tmp_path):
    import jbert_tf2

    model = tmp_path / "m"
    model.mkdir()
    (model / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nあ\n", encoding="utf-8")
    settings = {"tokenizer": "mecab-wordpiece", "vocab_file": "vocab.txt", "mecab_dic": "os"}
    (model / "tokenizer.json").write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(JbertError, match="mecab_dic"):
        jbert_tf2.load_tokenizer(model)
