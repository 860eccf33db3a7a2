"""Ingest: the MQTT → log bridge and message validation."""
