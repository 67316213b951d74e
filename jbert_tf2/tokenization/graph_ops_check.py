"""Which ops a traced graph uses, and which of them TensorFlow alone does not register.

A SavedModel meant for stock TF Serving or a plain ``tf.saved_model.load`` must hold only ops
that TensorFlow itself registers: an op from tensorflow-text (``FastBertNormalize``,
``RegexSplitWithOffsets``, ...) fails to load where that library is not imported. `op_types`
lists a concrete function's op types, nested functions (while-loop bodies, ``tf.function``
calls) included; `non_core_ops` keeps those TensorFlow itself does not register: names outside
``tf.raw_ops`` (the ops TensorFlow was built with) are checked in a fresh Python process that
imports only ``tensorflow``, so ops that tensorflow-text registered in this process do not count.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterable

from jbert_tf2.backend import tensorflow
from jbert_tf2.errors import JbertError

_CHECK = """
import json, sys
import tensorflow  # only TensorFlow: its own ops are registered, nobody else's
from tensorflow.python.framework import op_def_registry
names = json.load(sys.stdin)
json.dump(sorted(n for n in names if op_def_registry.get(n) is None), sys.stdout)
"""


def op_types(concrete_function) -> set[str]:
    """The op types of a traced function's graph and of every function in its library."""
    graph_def = concrete_function.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    # Calls of library functions name the function as their op type: not ops.
    return types - {function.signature.name for function in graph_def.library.function}


def non_core_ops(op_types: Iterable[str]) -> set[str]:
    """The names in ``op_types`` that TensorFlow alone does not register (empty = core only).

    ``tf.raw_ops`` holds the ops TensorFlow was built with (a library's ops loaded later never
    join it), so most names are settled here; the few others (ops without a Python wrapper)
    are asked of a fresh process."""
    built_in = set(dir(tensorflow().raw_ops))
    others = tuple(sorted(set(op_types) - built_in))
    return set(_unregistered(others)) if others else set()


@functools.cache
def _unregistered(names: tuple[str, ...]) -> tuple[str, ...]:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK],
        input=json.dumps(list(names)),
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    if result.returncode != 0:
        raise JbertError(
            "could not list TensorFlow's registered ops in a fresh process "
            f"({result.stderr.strip().splitlines()[-1:] or 'no message'}); is tensorflow installed?"
        )
    return tuple(json.loads(result.stdout))
