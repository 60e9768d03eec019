"""The sync client, generated from ``_async`` by ``python -m faas_sdk._unasync``."""
