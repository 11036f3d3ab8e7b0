"""Secure mode's material: a local CA and node certificates, the principals and what each may do,
their credentials, and the Kafka and Elasticsearch settings that demand them.

Everything is written under ``<state>/secrets/`` (0700, keys and credentials 0600), never in the
repository, and kept across restarts: certificates are regenerated only when missing or close to
expiry, passwords only when missing.

- :mod:`.certs`       the CA, per-node server certificates (SAN 127.0.0.1 and localhost)
- :mod:`.principals`  every principal and its permissions, as data (Kafka ACLs, Elasticsearch roles)
- :mod:`.credentials` random passwords per principal, ``credentials.json``
- :mod:`.kafka_node`  server.properties additions, ``--add-scram`` format arguments, applying the ACLs
- :mod:`.es_node`     elasticsearch.yml additions, the file-realm admin, applying roles, users, API keys
- :mod:`.clients`     the environment each service needs to reach the secure stack
"""
