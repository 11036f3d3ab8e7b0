"""``python -m services.ingest``: run the ingest worker until SIGTERM."""

from services.ingest.app import main

main()
