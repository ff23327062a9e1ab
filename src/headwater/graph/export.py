"""Lineage as CSV, with the 13 columns OpenMetadata's export writes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from headwater.graph.view import LineageView
from headwater.model.assets import Asset
from headwater.model.lineage import merge_details

CSV_HEADER = [
    "fromId",
    "fromEntityType",
    "fromFullyQualifiedName",
    "toId",
    "toEntityType",
    "toFullyQualifiedName",
    "description",
    "pipelineId",
    "pipelineFullyQualifiedName",
    "pipelineDisplayName",
    "columnLineage",
    "sqlQuery",
    "source",
]


def _line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def csv_lines(view: LineageView, pipelines: dict[str, Asset]) -> Iterator[str]:
    """Yield the CSV line by line (header first), each edge once, so large exports stream."""
    yield _line(CSV_HEADER)
    assets = view.all_assets()
    seen: set[tuple[int, int]] = set()
    for edge in [*view.upstream, *view.downstream]:
        pair = (edge.from_pk, edge.to_pk)
        if pair in seen:
            continue
        seen.add(pair)
        src, dst = assets.get(edge.from_pk), assets.get(edge.to_pk)
        if src is None or dst is None:
            continue
        details = merge_details(edge.details)
        pipe_ref = details.get("pipeline") or {}
        pipe = pipelines.get(str(pipe_ref.get("id"))) if pipe_ref else None
        columns = ";".join(
            f"{frm}:{cl.get('toColumn', '')}"
            for cl in details.get("columnsLineage", [])
            for frm in cl.get("fromColumns", [])
        )
        yield _line(
            [
                src.id,
                src.type.value,
                src.fqn,
                dst.id,
                dst.type.value,
                dst.fqn,
                edge.edge_description or details.get("description", "") or "",
                pipe.id if pipe else (pipe_ref.get("id") or ""),
                pipe.fqn if pipe else "",
                (pipe.display_name or pipe.name) if pipe else "",
                columns,
                details.get("sqlQuery", "") or "",
                details.get("source", ""),
            ]
        )
