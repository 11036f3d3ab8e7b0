"""Watches: saved searches that alert, stored in Elasticsearch (see :mod:`services.watches.store`)."""
