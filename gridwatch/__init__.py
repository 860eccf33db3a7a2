"""gridwatch: the shared kernel (settings, event and incident schemas, grid, store, ports, CLI)."""
