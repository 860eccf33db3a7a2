"""The PostgreSQL store: migrations, incidents, raw events."""
