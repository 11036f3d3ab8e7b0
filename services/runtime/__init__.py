"""The small runtime the services share: settings, logging, Kafka I/O, the worker loop, the DLQ."""
