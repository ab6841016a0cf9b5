"""A NACCS stand-in: an external system in miniature, so the bridge can be built and tested end to end."""
