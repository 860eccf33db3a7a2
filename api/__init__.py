"""API: the FastAPI application."""
