"""``python -m services.index``."""

from services.index.app import main

main()
