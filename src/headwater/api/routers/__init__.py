"""One router per API dialect: OpenMetadata (entities, lineage, search), native, system."""
