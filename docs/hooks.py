"""MkDocs hook: generated parts of pages.

- A line ``<!-- help: jbert_tf2.cli.MODULE -->`` is replaced, when the site is built, by the text
  that ``build_parser().format_help()`` of that module prints (at 88 columns), so the command
  pages cannot drift from the parsers. Importing a ``jbert_tf2.cli`` module does not import
  TensorFlow or Keras.
- A line ``<!-- include: FILE -->`` is replaced by FILE (relative to the repository root), so
  ``docs/changelog.md`` shows the one ``CHANGELOG.md``.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

HELP_MARKER = re.compile(r"^<!-- help: (jbert_tf2\.cli\.\w+) -->$", re.MULTILINE)
INCLUDE_MARKER = re.compile(r"^<!-- include: ([\w./-]+) -->$", re.MULTILINE)
ROOT = Path(__file__).resolve().parent.parent
COLUMNS = "88"


def command_help(module: str) -> str:
    """The ``--help`` text of the command defined in ``module``."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS  # argparse wraps to the terminal width
    try:
        return importlib.import_module(module).build_parser().format_help().rstrip()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def on_page_markdown(markdown: str, page, config, files) -> str:
    markdown = INCLUDE_MARKER.sub(
        lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), markdown
    )
    return HELP_MARKER.sub(lambda m: "```text\n" + command_help(m.group(1)) + "\n```", markdown)
