"""Database connectors: the small interface a lineage source implements, and the registry.

To add a database (Snowflake, BigQuery, Redshift...), subclass :class:`Connector`, implement
``test_connection``, ``list_tables`` ("list tables/views") and ``query_history`` ("list query
history since T"), and register it under the ``<name>`` of ``<name>-lineage``::

    @register("snowflake")
    class SnowflakeConnector(Connector):
        service_type = "Snowflake"
        dialect = "snowflake"
        ...
"""

from headwater.ingest.connectors.base import REGISTRY, Connector, ConnectorError, make_connector, register

# import for registration
from headwater.ingest.connectors import mysql as _mysql  # noqa: F401  # isort: skip
from headwater.ingest.connectors import postgres as _postgres  # noqa: F401  # isort: skip

__all__ = ["REGISTRY", "Connector", "ConnectorError", "make_connector", "register"]
