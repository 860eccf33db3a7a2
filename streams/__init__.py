"""Streams: detectors (pure) and the faust application that runs them."""
