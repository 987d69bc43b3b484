"""Driving adapters: the GraphQL schema, the ASGI app (composition root) and the `crm` command."""
