"""Pure detectors: each a `step(state, event, ctx, cfg) -> (state, findings)` over one cell."""
