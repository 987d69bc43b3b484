"""Finance adapters for the Receivables port: Tryton over JSON-RPC, or a static file (the embedded default)."""
