"""Package names loaded on first use (PEP 562), so importing a package stays cheap: one
mechanism for `jbert_tf2`, `jbert_tf2.tasks`, `jbert_tf2.training` and `jbert_tf2.data`; and
modules kept at their old path for one release after a move (`moved_module`)."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from types import ModuleType


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


def moved_module(old: str, *modules: ModuleType) -> Callable:
    """``__getattr__`` for a module kept at its old path for one release: a name is taken from
    the first of ``modules`` that has it, with a DeprecationWarning naming the new path."""
    new = " / ".join(module.__name__ for module in modules)

    def __getattr__(name: str):  # noqa: N807  (the module hook's name)
        for module in modules:
            if hasattr(module, name):
                warnings.warn(
                    f"{old} is now {new}: import {name} from there ({old} goes in the next "
                    "release)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
