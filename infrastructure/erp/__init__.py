"""ERP adapters for the ProductCosts port: Tryton over JSON-RPC, or a static file (the embedded default)."""
