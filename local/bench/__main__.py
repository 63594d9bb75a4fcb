"""Entry point of ``python -m local.bench``."""

from .cli import main

raise SystemExit(main())
