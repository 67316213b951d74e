"""Package names loaded on first use (PEP 562), so importing a package stays cheap: one
mechanism for `jbert_tf2`, `jbert_tf2.tasks`, `jbert_tf2.training` and `jbert_tf2.data`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: a name in ``exports`` is imported from its
    module on first access and then cached in the package."""

    def __getattr__(name: str):  # noqa: N807  (the module hook's name)
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
