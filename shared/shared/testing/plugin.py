"""pytest plugin shared by every service's tests (filled in by the foundation work)."""
