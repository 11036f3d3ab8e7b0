"""The search service: an HTTP API and a web page over the archive; the request it and the CLI send."""
