"""edgerec trainer: config -> data -> model -> train -> evaluate -> export -> parity -> artifact.

Run `python -m edgerec.cli train --help` (via `bash scripts/py.sh`) for the one training command.
"""
