"""Typed Pydantic v2 schemas of every form type. All fields are optional: a draft may be
incomplete; what must be present before sending is listed by the catalogue (`required_for_send`)."""
