import type { GraphState } from "./graph";

/** Same 13 columns as GET /api/v1/lineage/export (OpenMetadata's lineage CSV). */
export const LINEAGE_CSV_HEADER = [
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
];

export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

export function lineageCsv(g: GraphState): string {
  const rows: unknown[][] = [];
  for (const e of g.edges.values()) {
    const f = g.nodes.get(e.from)?.ref;
    const t = g.nodes.get(e.to)?.ref;
    const d = e.details;
    const p = d.pipeline;
    const cols = (d.columnsLineage ?? [])
      .flatMap((cl) => (cl.fromColumns ?? []).map((fc) => `${fc}:${cl.toColumn ?? ""}`))
      .join(";");
    rows.push([
      e.from,
      f?.type,
      f?.fullyQualifiedName,
      e.to,
      t?.type,
      t?.fullyQualifiedName,
      e.description || d.description || "",
      p?.id,
      p?.fullyQualifiedName,
      p ? p.displayName || p.name : "",
      cols,
      d.sqlQuery,
      d.source,
    ]);
  }
  return toCsv(LINEAGE_CSV_HEADER, rows);
}

export function download(filename: string, content: string | Blob, mime = "text/csv"): void {
  const blob = typeof content === "string" ? new Blob([content], { type: mime }) : content;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

export function downloadDataUrl(filename: string, dataUrl: string): void {
  const a = document.createElement("a");
  a.href = dataUrl;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
}
