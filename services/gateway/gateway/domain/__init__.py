"""Identity and access: the gateway's domain logic (no HTTP here; services flush, never commit)."""
