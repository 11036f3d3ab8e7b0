"""The index service: ``articles.enriched`` -> Elasticsearch alias ``articles``, in bulk."""
