"""Read models: filtered, keyset-paginated views returned as DTOs. Reads never load aggregates."""
