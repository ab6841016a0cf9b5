"""Use cases of the forms service: access, persistence and events around the pure ``domain``."""
