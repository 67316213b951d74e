"""docs/errors.md lists exactly the cases of the bad-input sweep (every test_bad_inputs_*.py)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from bad_input_helpers import Case

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent.parent / "docs" / "errors.md"


def sweep_cases() -> list[Case]:
    """The ``CASES`` of every test_bad_inputs_*.py, so a new file's cases are checked too."""
    cases: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("test_bad_inputs_*.py")):
        cases += getattr(importlib.import_module(path.stem), "CASES", [])
    return cases


def test_every_case_is_in_the_table_in_docs():
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    cases = sweep_cases()
    names = {c.name for c in cases}
    assert len(names) == len(cases) >= 40
    assert names - documented == set(), "cases missing from docs/errors.md"
    assert documented - names == set(), "docs/errors.md lists cases that are not tested"
