"""``python -m evmult`` is the ``evmult`` command."""

import sys

from evmult.cli import main

sys.exit(main())
