"""Headwater: a self-hostable data lineage service."""

__version__ = "0.1.0"
