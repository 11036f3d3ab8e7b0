"""``python -m services.search``."""

from services.search.app import main

main()
