"""pydm: TiDB Data Migration (DM) rebuilt in Python."""

__version__ = "0.1.0"
