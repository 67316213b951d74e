"""``python -m jbert_tf2.run_finetuning``: ELECTRA's run_finetuning.py arguments on TF2."""

import sys

from jbert_tf2.cli.run_finetuning import main

if __name__ == "__main__":
    sys.exit(main())
