"""Grid cells (网格) in villages in townships, and locating a WGS-84 (lon, lat) point in them."""

from gridwatch.grid.model import PROPERTIES, Cell, Grid, GridFileError, Township, Village

__all__ = ["PROPERTIES", "Cell", "Grid", "GridFileError", "Township", "Village"]
