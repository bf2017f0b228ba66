"""One file per resource, joined in api/main.py."""
