"""Atlan's asset model, translated to and from headwater's: asset JSON, qualifiedNames, processes.

Small focused modules: `types` (typeName ↔ AssetType), `qualified` (qualifiedName recipes),
`entities` (parsing request entities and references), `render` (assets as Atlan JSON),
`mutate` (bulk upsert and delete with Process/ColumnProcess lineage), `lineage` (the paged
lineage list), `directory` (users, groups, roles and credentials the SDK asks for).
"""
