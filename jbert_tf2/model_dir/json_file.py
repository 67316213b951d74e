"""Reading a small JSON file (``tokenizer.json``, ``task.json``, HF's ``tokenizer_config.json``)
with one clear error for a file that is not JSON."""

from __future__ import annotations

import json
from pathlib import Path

from jbert_tf2.errors import JbertError


def read_json(path: Path, fix: str) -> object:
    """The parsed contents of ``path``; a file that cannot be read or is not JSON is refused,
    naming the file, the parser's complaint and ``fix``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise JbertError(f"{path}: not valid JSON ({exc}); {fix}") from None
