"""The embedded mode's log: durable, partitioned by key, read through consumer groups."""
