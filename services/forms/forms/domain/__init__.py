"""Pure domain core of the forms service: catalogue, schemas, shared items, locks, validation,
derivation and DCSA mapping. No I/O here: every function takes and returns plain values."""
