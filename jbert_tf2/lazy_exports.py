"""Package names loaded on first use (PEP 562), so importing a package stays cheap: one
mechanism for `jbert_tf2`, `jbert_tf2.tasks`, `jbert_tf2.training` and `jbert_tf2.data`; and
modules kept at their old path for one release after a move (`install_moved_modules`)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
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


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a moved module's old path: a stand-in module whose names come from the new
    modules (`moved_module`). Consulted after the real finders, so it never shadows a file."""

    def __init__(self, moved: dict[str, tuple[str, ...]]):
        self.moved = moved

    def find_spec(self, name: str, path=None, target=None):
        if name not in self.moved:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec) -> ModuleType:
        modules = [importlib.import_module(new) for new in self.moved[spec.name]]
        module = ModuleType(spec.name, f"Moved: use {' / '.join(self.moved[spec.name])}.")
        module.__getattr__ = moved_module(spec.name, *modules)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the stand-in's names are looked up on use."""


def install_moved_modules(moved: dict[str, tuple[str, ...]]) -> None:
    """Keep ``{old module path: (new module, ...)}`` importable for one release. The table
    lives in the root package, the top layer, so no package imports a higher one to alias it."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules(moved))
