"""The end-of-run summary as text (CLI and run logs)."""

from __future__ import annotations

from typing import Any

from headwater.ingest.workflow import Summary

MAX_UNRESOLVED = 15


def summary_text(summary: Summary) -> str:
    d: dict[str, Any] = summary.to_json()
    lines = [f"{d['workflow']} for service {d['service']}: {d['status']} in {d['seconds']:.2f} s"]
    if d["error"]:
        lines.append(f"  error: {d['error']}")
    if d["metadata"]:
        m = d["metadata"]
        lines.append(
            f"  metadata: {m.get('tables', 0)} tables and views ({m.get('created', 0)} assets created)"
        )
    if d["views"]:
        lines.append(f"  views with lineage: {d['views']}")
    lines.append(
        f"  rows read: {d['rows_read']}  (unreadable {d['bad_rows']}, aborted {d['aborted_rows']}, "
        f"filtered {d['filtered_rows']})"
    )
    lines.append(
        f"  distinct queries: {d['distinct_queries']}  parsed: {d['parsed']}  failed: {d['failed']}  "
        f"read-only (not parsed): {d['read_only_skipped']}  without lineage: {d['no_lineage']}"
    )
    lines.append(
        f"  edges added: {d['edges_added']}  updated: {d['edges_updated']}  unchanged: {d['edges_unchanged']}"
        + (
            f"  column mappings dropped (unknown columns): {d['column_mappings_dropped']}"
            if d["column_mappings_dropped"]
            else ""
        )
    )
    if d["edges_removed"]:
        lines.append(f"  view lineage removed (overrideViewLineage): {len(d['edges_removed'])}")
    if d["failures"]:
        lines.append("  problems:")
        for reason, info in sorted(d["failures"].items(), key=lambda kv: -kv[1]["count"]):
            lines.append(f"    {reason}: {info['count']}")
            for ex in info["examples"]:
                lines.append(f"      e.g. {ex}")
    unresolved = d["unresolved_tables"]
    if unresolved:
        lines.append(f"  unresolved tables: {len(unresolved)}")
        for name, count in list(unresolved.items())[:MAX_UNRESOLVED]:
            lines.append(f"    {name}: {count}")
        if len(unresolved) > MAX_UNRESOLVED:
            lines.append(f"    ... and {len(unresolved) - MAX_UNRESOLVED} more (see --json)")
    if d["partial_assets_created"]:
        lines.append(f"  partial assets created: {len(d['partial_assets_created'])}")
    for w in d["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)
