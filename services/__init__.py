"""newswire services: ingest, enrich and index, plus the runtime they share and the CLI."""
