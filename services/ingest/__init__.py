"""The ingest service: ``articles.raw`` (JSON, HTML or raw page text) -> validated ``articles.ingested``."""
