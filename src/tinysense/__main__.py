"""``python -m tinysense`` runs the ``tinysense`` command."""

import sys

from .cli import main

sys.exit(main())
