"""Allow ``python -m crmkit``."""

from crmkit.cli import main

main()
