"""Alerts: the grid-cell incident queues."""
