"""The async client: the one source of the SDK's I/O (``_sync`` is generated from it)."""
