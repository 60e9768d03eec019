"""The relay that runs in an instance's network namespace; see :mod:`engine.agent_relay.relay`."""
