"""``python -m jbert_tf2.run_pretraining``: Google's and ELECTRA's run_pretraining.py flags."""

import sys

from jbert_tf2.cli.run_pretraining import main

if __name__ == "__main__":
    sys.exit(main())
