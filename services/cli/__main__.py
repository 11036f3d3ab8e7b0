"""``python -m services.cli`` is the same as the ``newswire`` command."""

from services.cli.main import main

main()
