"""Driven adapters: database, tokens, clocks, event delivery, the DI container."""
