"""Events out: the outbox relay's adapters (webhook sender, broker publisher, the SQL delivery state,
health reporters). The relay itself is application/outbox_relay.py."""
