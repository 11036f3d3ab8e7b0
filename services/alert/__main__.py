"""``python -m services.alert``."""

from services.alert.app import main

main()
