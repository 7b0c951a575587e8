"""``python -m agentcloud`` is the ``agentcloud`` command."""

from .cli import main

raise SystemExit(main())
