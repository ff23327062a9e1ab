import { useEffect, useMemo, useState } from "react";
import hljs from "highlight.js/lib/core";
import sql from "highlight.js/lib/languages/sql";
import { api, ApiError } from "../api";
import { TypeIcon } from "../icons";
import type { AssetDetails, EntityReference, PropagationOrigin, PropagationOrigins } from "../types";
import { label, ownerName } from "../types";
import type { ColumnTrace, GEdge, GraphState } from "../graph";
import { PROCESS_TYPES, downstreamDepths, emptyGraph, mergeLineage, traceColumn, columnResolver } from "../graph";
import { download, toCsv } from "../csv";

hljs.registerLanguage("sql", sql);

export function fmtTime(ms?: number | null): string {
  if (!ms) return "—";
  const d = new Date(ms);
  return isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** An instant the user picked: to the millisecond when it has them. */
export function fmtInstant(ms: number): string {
  const d = new Date(ms);
  if (isNaN(d.getTime())) return String(ms);
  const iso = d.toISOString().replace("T", " ");
  return (ms % 1000 ? iso.replace(/Z$/, "") : iso.replace(/\.\d+Z$/, "")) + " UTC";
}

export function Sql({ text }: { text: string }) {
  const html = useMemo(() => hljs.highlight(text, { language: "sql", ignoreIllegals: true }).value, [text]);
  return (
    <pre className="hw-sql" data-testid="edge-sql">
      <code className="hljs language-sql" dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}

export function KV({ k, children }: { k: string; children: React.ReactNode }) {
  return (
    <div className="hw-kv">
      <div className="hw-k">{k}</div>
      <div className="hw-v">{children}</div>
    </div>
  );
}

export function NodeDetails({
  node,
  details,
  isRoot,
  onOpen,
  onImpact,
  onRootCause,
  onColumn,
  selectedColumn,
  asOf,
}: {
  node: EntityReference;
  details: AssetDetails | undefined;
  isRoot: boolean;
  onOpen(r: EntityReference): void;
  onImpact(): void;
  onRootCause(): void;
  onColumn(fqn: string): void;
  selectedColumn: string | null;
  asOf: number | null;
}) {
  const d = details;
  const attrs = d?.attributes ?? {};
  const prop = usePropagation(node, d);
  const description = d?.description || node.description;
  const owners = ownerList(attrs.owners);
  return (
    <div className="hw-panel-body" data-testid="node-details">
      <div className="hw-panel-title">
        <TypeIcon type={node.type} tableType={(attrs as Record<string, unknown>).tableType} size={22} />
        <div>
          <h3>{label(node)}</h3>
          <div className="hw-muted">{node.type}</div>
        </div>
      </div>
      <div className="hw-actions">
        {!isRoot && (
          <button onClick={() => onOpen(node)} data-testid="open-as-root">
            Center lineage here
          </button>
        )}
        <button onClick={onImpact} data-testid="impact-node">
          Impact analysis
        </button>
        <button onClick={onRootCause} data-testid="rootcause-node">
          Root cause
        </button>
      </div>
      <KV k="FQN">
        <code className="hw-wrap">{node.fullyQualifiedName}</code>
      </KV>
      <KV k="ID">
        <code>{node.id}</code>
      </KV>
      {description && (
        <KV k="Description">
          <span data-testid="node-description">{description}</span>
          {prop.asset?.description?.origin && prop.asset.description.value === description && (
            <Propagated origin={prop.asset.description.origin} testid="description-propagated" />
          )}
        </KV>
      )}
      <KV k="Owner">
        {owners.length ? (
          owners.map((o, i) => (
            <span key={i} className="hw-owner" data-testid="node-owner" data-propagated={o.inherited ? "1" : undefined}>
              {o.name}
              {o.inherited && (
                <Propagated
                  origin={prop.asset?.owners?.origin}
                  fallback="inherited along lineage"
                  testid="owner-propagated"
                />
              )}
            </span>
          ))
        ) : (
          ownerName(d?.owner) || "—"
        )}
      </KV>
      {(d?.partial || node.deleted || d?.deleted) && (
        <KV k="State">
          {d?.partial && <span className="hw-badge">partial (placeholder)</span>}
          {node.deleted && <span className="hw-badge hw-badge-warn">deleted</span>}
          {!node.deleted && d?.deleted && (
            <span className="hw-badge hw-badge-warn" data-testid="deleted-since">
              {asOf ? "deleted since" : "deleted"}
            </span>
          )}
        </KV>
      )}
      {d?.parent && <KV k="Parent">{d.parent.fullyQualifiedName ?? label(d.parent)}</KV>}
      {!!d?.tags?.length && (
        <KV k="Tags">
          <TagList tags={d.tags} origins={prop.asset?.tags} />
        </KV>
      )}
      <KV k="API">
        <a href={api.assetUrl(node.id)} target="_blank" rel="noreferrer" data-testid="node-api-link">
          {api.assetUrl(node.id)}
        </a>
        <br />
        <a
          href={api.lineageUrl(node.type, node.id, { upstreamDepth: 1, downstreamDepth: 1, asOf })}
          target="_blank"
          rel="noreferrer"
          data-testid="node-lineage-link"
        >
          lineage JSON
        </a>
        {node.href && (
          <>
            {" · "}
            <a href={node.href} target="_blank" rel="noreferrer">
              href
            </a>
          </>
        )}
      </KV>
      {Object.keys(attrs).length > 0 && (
        <details>
          <summary>Attributes</summary>
          <pre className="hw-json">{JSON.stringify(attrs, null, 2)}</pre>
        </details>
      )}
      {!!d?.columns?.length && (
        <div className="hw-section">
          <h4>Columns ({d.columns.length})</h4>
          <table className="hw-table">
            <tbody>
              {d.columns.map((c) => {
                const fqn = c.fullyQualifiedName ?? `${node.fullyQualifiedName}.${c.name}`;
                const colOrigins = prop.columns.get(fqn);
                return (
                  <tr
                    key={c.name}
                    className={`hw-clickable${selectedColumn === fqn ? " hw-row-sel" : ""}`}
                    onClick={() => onColumn(fqn)}
                    title="Highlight this column's lineage"
                    data-testid="node-column"
                    data-column={c.name}
                  >
                    <td>
                      {c.name}
                      {!!c.tags?.length && (
                        <div>
                          <TagList tags={c.tags} origins={colOrigins?.tags} />
                        </div>
                      )}
                      {c.description && (
                        <div className="hw-muted hw-small">
                          <span data-testid="column-description">{c.description}</span>
                          {colOrigins?.description?.origin && colOrigins.description.value === c.description && (
                            <Propagated origin={colOrigins.description.origin} testid="description-propagated" />
                          )}
                        </div>
                      )}
                    </td>
                    <td className="hw-muted">{c.dataType}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

interface OwnerEntry {
  name: string;
  inherited: boolean;
}

function ownerList(v: unknown): OwnerEntry[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((o): o is Record<string, unknown> => !!o && typeof o === "object")
    .map((o) => ({
      name: String(o.displayName || o.name || o.fullyQualifiedName || o.id || "?"),
      inherited: o.inherited === true,
    }));
}

function shortFqn(fqn?: string | null): string {
  if (!fqn) return "?";
  const parts = fqn.split(".");
  return parts.length > 2 ? parts.slice(-2).join(".") : fqn;
}

/** "propagated from <origin> (rule, depth)": marks metadata that flowed along lineage. */
function Propagated({
  origin,
  fallback,
  testid,
}: {
  origin?: PropagationOrigin | null;
  fallback?: string;
  testid: string;
}) {
  const text = origin
    ? `from ${origin.type ?? ""} ${shortFqn(origin.fullyQualifiedName)}${origin.rule ? ` · rule ${origin.rule}` : ""}${
        origin.depth !== undefined ? ` · depth ${origin.depth}` : ""
      }`
    : (fallback ?? "");
  return (
    <span
      className="hw-propagated"
      data-testid={testid}
      data-origin={origin?.fullyQualifiedName ?? ""}
      title={origin?.fullyQualifiedName ? `Propagated from ${origin.fullyQualifiedName}` : "Propagated along lineage"}
    >
      <span className="hw-badge hw-badge-prop">propagated</span>
      {text && <span className="hw-small hw-muted"> {text.trim()}</span>}
    </span>
  );
}

function TagList({ tags, origins }: { tags: unknown[]; origins?: Record<string, PropagationOrigin> }) {
  return (
    <>
      {tags.map((t, i) => {
        const tag = (typeof t === "string" ? { tagFQN: t } : (t as Record<string, unknown>)) ?? {};
        const fqn = String(tag.tagFQN ?? JSON.stringify(t));
        const propagated = tag.labelType === "Propagated";
        const origin = origins?.[fqn];
        return (
          <span
            key={i}
            className={`hw-tag${propagated ? " hw-tag-propagated" : ""}`}
            data-testid="tag"
            data-tag={fqn}
            data-propagated={propagated ? "1" : undefined}
            title={typeof tag.reason === "string" ? tag.reason : undefined}
          >
            <span className="hw-badge">{fqn}</span>
            {propagated && (
              <Propagated
                origin={origin}
                fallback={typeof tag.reason === "string" ? tag.reason.replace(/^Propagated /, "") : undefined}
                testid="tag-propagated"
              />
            )}
          </span>
        );
      })}
    </>
  );
}

const ORIGIN_COLUMNS = 100; // at most this many column origin look-ups per asset

/** Origins of propagated metadata: the asset's, and those of its columns that carry propagated
 * tags or a description (a column's description says nothing about where it came from). */
function usePropagation(node: EntityReference, d: AssetDetails | undefined) {
  const [asset, setAsset] = useState<PropagationOrigins | null>(null);
  const [columns, setColumns] = useState<Map<string, PropagationOrigins>>(new Map());
  const colKey = (d?.columns ?? [])
    .filter((c) => c.description || (c.tags ?? []).some((t) => (t as Record<string, unknown>)?.labelType === "Propagated"))
    .slice(0, ORIGIN_COLUMNS)
    .map((c) => c.fullyQualifiedName ?? `${node.fullyQualifiedName}.${c.name}`)
    .join("\u0000");
  useEffect(() => {
    let cancelled = false;
    setAsset(null);
    if (!d) return;
    api.origins(new URLSearchParams({ id: node.id, entityType: node.type })).then(
      (o) => !cancelled && setAsset(o),
      () => undefined, // servers without the analysis API: labelType and reason still show
    );
    return () => {
      cancelled = true;
    };
  }, [node.id, node.type, d]);
  useEffect(() => {
    let cancelled = false;
    setColumns(new Map());
    const fqns = colKey ? colKey.split("\u0000") : [];
    let i = 0;
    const found = new Map<string, PropagationOrigins>();
    const worker = async () => {
      while (i < fqns.length && !cancelled) {
        const fqn = fqns[i++];
        try {
          const o = await api.origins(new URLSearchParams({ fqn, entityType: "column" }));
          if (o.tags && Object.keys(o.tags).length) found.set(fqn, o);
          else if (o.description || o.owners) found.set(fqn, o);
        } catch {
          /* no origin known */
        }
      }
    };
    Promise.all(Array.from({ length: 4 }, worker)).then(() => !cancelled && setColumns(found));
    return () => {
      cancelled = true;
    };
  }, [colKey]);
  return { asset, columns };
}

export function EdgeDetails({
  graph,
  edgeKeys,
  asOf,
  onRunChanges,
}: {
  graph: GraphState;
  edgeKeys: string[];
  asOf?: number | null;
  /** Open the Changes panel on this pipeline/process (to compare two of its runs). */
  onRunChanges?(job: EntityReference): void;
}) {
  const edges = edgeKeys.map((k) => graph.edges.get(k)).filter((e): e is GEdge => !!e);
  if (!edges.length) return <div className="hw-panel-body">Edge not in graph any more.</div>;
  return (
    <div className="hw-panel-body" data-testid="edge-details">
      {asOf && (
        <div className="hw-muted hw-small" data-testid="edge-asof">
          As of {fmtInstant(asOf)}: the edge and its column mappings as they stood then.
        </div>
      )}
      {edges.map((e) => {
        const f = graph.nodes.get(e.from)?.ref;
        const t = graph.nodes.get(e.to)?.ref;
        const d = e.details;
        const job = d.pipeline ?? [f, t].find((r) => r && PROCESS_TYPES.has(r.type)) ?? null;
        return (
          <div key={e.key} className="hw-edge-block">
            <h3 className="hw-edge-title">
              {f ? label(f) : e.from} <span className="hw-arrow">→</span> {t ? label(t) : e.to}
            </h3>
            <KV k="Pipeline">
              {d.pipeline ? (
                <span data-testid="edge-pipeline">
                  <TypeIcon type={d.pipeline.type} /> {d.pipeline.displayName || d.pipeline.fullyQualifiedName || d.pipeline.name}
                </span>
              ) : (
                "—"
              )}
              {job && onRunChanges && (
                <>
                  {" "}
                  <button
                    className="hw-link hw-small"
                    data-testid="edge-job-changes"
                    title="What this job's runs changed in the lineage"
                    onClick={() => onRunChanges(job)}
                  >
                    changes…
                  </button>
                </>
              )}
            </KV>
            <KV k="Source">
              <span data-testid="edge-source">{d.source ?? "Manual"}</span>
            </KV>
            {(d.description || e.description) && <KV k="Description">{d.description || e.description}</KV>}
            <KV k="Last updated">
              {fmtTime(d.updatedAt)} {d.updatedBy ? `by ${d.updatedBy}` : ""}
            </KV>
            <KV k="Created">
              {fmtTime(d.createdAt)} {d.createdBy ? `by ${d.createdBy}` : ""}
            </KV>
            <KV k={asOf ? "Latest run (now)" : "Last run"}>
              <LastRun
                edgeRun={d.lastRun}
                jobIds={[
                  d.pipeline?.id,
                  ...[f, t].filter((r) => r && PROCESS_TYPES.has(r.type)).map((r) => r!.id),
                ]}
              />
            </KV>
            {!!d.columnsLineage?.length && (
              <div className="hw-section">
                <h4>Column mappings</h4>
                <table className="hw-table" data-testid="edge-columns">
                  <thead>
                    <tr>
                      <th>from</th>
                      <th>to</th>
                      <th>function</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.columnsLineage.map((cl, i) => (
                      <tr key={i}>
                        <td>{(cl.fromColumns ?? []).map(shortCol).join(", ")}</td>
                        <td>{cl.toColumn ? shortCol(cl.toColumn) : ""}</td>
                        <td className="hw-muted">{cl.function ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <div className="hw-section">
              <h4>SQL</h4>
              {d.sqlQuery ? <Sql text={d.sqlQuery} /> : <div className="hw-muted">no SQL recorded</div>}
            </div>
          </div>
        );
      })}
    </div>
  );
}

/** The latest run of the job behind an edge: the edge's pipeline or a process endpoint. Runs are
 * known for OpenLineage jobs (asset attribute `openlineage: {namespace, name}`), read from the
 * Marquez-style jobs API. */
function LastRun({ edgeRun, jobIds }: { edgeRun?: Record<string, unknown> | null; jobIds: (string | undefined)[] }) {
  const [run, setRun] = useState<Record<string, unknown> | null | undefined>(undefined);
  const key = jobIds.filter(Boolean).join(",");
  useEffect(() => {
    if (edgeRun) return setRun(edgeRun);
    let cancelled = false;
    setRun(undefined);
    (async () => {
      for (const id of key.split(",").filter(Boolean)) {
        try {
          const a = await api.asset(id);
          const ol = (a.attributes ?? {}).openlineage as { namespace?: string; name?: string } | undefined;
          if (!ol?.namespace || !ol.name) continue;
          const job = await api.job(ol.namespace, ol.name);
          if (job.latestRun) return job.latestRun;
        } catch {
          /* no run information for this one */
        }
      }
      return null;
    })().then((r) => !cancelled && setRun(r));
    return () => {
      cancelled = true;
    };
  }, [key, edgeRun]);
  if (run === undefined) return <span className="hw-muted">…</span>;
  if (run === null) return <span className="hw-muted">no run recorded</span>;
  const state = String(run.state ?? "");
  const when = String(run.endedAt ?? run.updatedAt ?? run.createdAt ?? "");
  return (
    <span data-testid="edge-last-run">
      <span className={`hw-badge${/FAIL|ABORT/.test(state) ? " hw-badge-warn" : ""}`}>{state || "run"}</span>{" "}
      {when.replace("T", " ").replace(/\.\d+/, "")}
      {typeof run.durationMs === "number" ? ` · ${Math.round(run.durationMs / 100) / 10} s` : ""}
    </span>
  );
}

function shortCol(fqn: string): string {
  const parts = fqn.split(".");
  return parts.length > 2 ? parts.slice(-2).join(".") : fqn;
}

interface ImpactRow {
  depth: number;
  id: string;
  type: string;
  name: string;
  fqn: string;
  owners: string;
  parentType: string;
  parentFqn: string;
  hop: string;
  fn: string;
  pathKind: string;
  path: string[];
}

/** The columns of GET /api/v1/analysis/impact?format=csv, so both exports agree. */
const IMPACT_CSV_HEADER = [
  "depth",
  "type",
  "fullyQualifiedName",
  "id",
  "parentType",
  "parentFullyQualifiedName",
  "owners",
  "hop",
  "function",
  "pathKind",
  "path",
];

const IMPACT_DEPTH = 10;

interface ServerImpactRow {
  id?: string | null;
  type: string;
  fullyQualifiedName: string;
  name?: string;
  depth: number;
  path?: string[];
  owners?: string[];
  parentType?: string | null;
  parentFullyQualifiedName?: string | null;
  hop?: string | null;
  function?: string | null;
  pathKind?: string | null;
}

/** Impact from the dedicated endpoint (whole graph, owners included). */
async function serverImpact(target: EntityReference, column: string | null, asOf: number | null) {
  const q = new URLSearchParams({ id: target.id, entityType: target.type, limit: "10000" });
  if (column) q.set("column", column);
  if (asOf) q.set("asOf", String(asOf));
  const r = await api.impact(q);
  const rows: ImpactRow[] = (r.data as ServerImpactRow[]).map((x) => ({
    depth: x.depth,
    id: x.id ?? "",
    type: x.type,
    name: x.name ?? x.fullyQualifiedName,
    fqn: x.fullyQualifiedName,
    owners: (x.owners ?? []).join(";"),
    parentType: x.parentType ?? "",
    parentFqn: x.parentFullyQualifiedName ?? "",
    hop: x.hop ?? "",
    fn: x.function ?? "",
    pathKind: x.pathKind ?? "",
    path: x.path ?? [],
  }));
  return { rows, truncated: !!r.truncated, maxDepth: (r.maxDepth as number) ?? IMPACT_DEPTH };
}

/** Fallback for servers without /api/v1/analysis/impact: walk the lineage endpoint downstream. */
async function lineageImpact(target: EntityReference, column: string | null, nodeLimit: number, asOf: number | null) {
  let lin;
  try {
    lin = await api.lineage(target.type, target.id, { upstreamDepth: 0, downstreamDepth: IMPACT_DEPTH, nodeLimit, asOf });
  } catch (e) {
    // A server with a lower depth or node limit answers 400: fall back to its defaults.
    if (e instanceof ApiError && e.status === 400)
      lin = await api.lineage(target.type, target.id, { upstreamDepth: 0, downstreamDepth: 3, asOf });
    else throw e;
  }
  const g = mergeLineage(emptyGraph(lin.entity), lin);
  const rows: ImpactRow[] = [];
  const blank = { owners: "", parentType: "", parentFqn: "", hop: "", fn: "", pathKind: "", path: [] };
  if (column) {
    const tr = traceColumn(g, column, ["down"]);
    const resolve = columnResolver(g.nodes);
    for (const [c, depth] of tr.depth) {
      if (c === column) continue;
      const r = resolve(c);
      const holder = r ? g.nodes.get(r.nodeId)?.ref : undefined;
      rows.push({
        ...blank,
        depth,
        id: "",
        type: "column",
        name: r?.name ?? c,
        fqn: c,
        parentType: holder?.type ?? "",
        parentFqn: holder?.fullyQualifiedName ?? "",
      });
    }
  } else {
    const depths = downstreamDepths(g.edges.values(), lin.entity.id);
    for (const [id, depth] of depths) {
      const ref = g.nodes.get(id)?.ref;
      if (id === lin.entity.id || !ref) continue;
      rows.push({ ...blank, depth, id, type: ref.type, name: label(ref), fqn: ref.fullyQualifiedName ?? "" });
    }
  }
  rows.sort((a, b) => a.depth - b.depth || a.fqn.localeCompare(b.fqn));
  // Owners are not part of lineage references: fetch asset summaries (bounded).
  const ids = [...new Set(rows.map((r) => r.id).filter(Boolean))].slice(0, 300);
  const owners = new Map<string, string>();
  let i = 0;
  const worker = async () => {
    while (i < ids.length) {
      const id = ids[i++];
      try {
        owners.set(id, ownerName((await api.asset(id)).owner));
      } catch {
        /* leave blank */
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  for (const r of rows) r.owners = owners.get(r.id) ?? "";
  return { rows, truncated: !!lin.truncated, maxDepth: IMPACT_DEPTH };
}

export function ImpactView({
  target,
  column,
  nodeLimit,
  asOf,
}: {
  target: EntityReference;
  column: string | null;
  nodeLimit: number;
  asOf: number | null;
}) {
  const [result, setResult] = useState<{ rows: ImpactRow[]; truncated: boolean; maxDepth: number } | null>(
    null,
  );
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    setResult(null);
    setError(null);
    serverImpact(target, column, asOf)
      .catch((e) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405))
          return lineageImpact(target, column, nodeLimit, asOf);
        throw e;
      })
      .then(
        (r) => !cancelled && setResult(r),
        (e: Error) => !cancelled && setError(e.message),
      );
    return () => {
      cancelled = true;
    };
  }, [target, column, nodeLimit, asOf]);

  const rows = result?.rows ?? null;
  const exportCsv = () => {
    if (!rows) return;
    const csv = toCsv(
      IMPACT_CSV_HEADER,
      rows.map((r) => [
        r.depth,
        r.type,
        r.fqn,
        r.id,
        r.parentType,
        r.parentFqn,
        r.owners,
        r.hop,
        r.fn,
        r.pathKind,
        r.path.join(" > "),
      ]),
    );
    download(`impact-${(column ?? target.fullyQualifiedName ?? target.id).replace(/[^\w.-]+/g, "_")}.csv`, csv);
  };

  return (
    <div className="hw-panel-body" data-testid="impact-view">
      <div className="hw-panel-title">
        <TypeIcon type={column ? "column" : target.type} size={22} />
        <div>
          <h3>Impact of {column ? shortCol(column) : label(target)}</h3>
          <div className="hw-muted">
            everything downstream, up to depth {result?.maxDepth ?? IMPACT_DEPTH}
            {asOf ? `, as of ${fmtInstant(asOf)}` : ""}
          </div>
        </div>
      </div>
      {error && <div className="hw-error">{error}</div>}
      {!rows && !error && <div className="hw-muted">Computing…</div>}
      {rows && (
        <>
          <div className="hw-actions">
            <span data-testid="impact-count">
              {rows.length} downstream {column ? "columns" : "assets"}
            </span>
            <button onClick={exportCsv} data-testid="impact-csv">
              Export CSV
            </button>
          </div>
          {result?.truncated && <div className="hw-warn">Result cut by the node limit.</div>}
          <table className="hw-table hw-impact">
            <thead>
              <tr>
                <th>depth</th>
                <th>name</th>
                <th>type</th>
                <th>owner</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.fqn} data-testid="impact-row" title={r.path.join(" > ") || r.fqn}>
                  <td>{r.depth}</td>
                  <td>
                    <div>
                      {r.type === "column" && r.parentFqn ? `${r.parentFqn.split(".").pop()}.` : ""}
                      {r.name}
                      {r.fn && <span className="hw-badge">{r.fn}</span>}
                    </div>
                    <div className="hw-muted hw-small">{r.fqn}</div>
                  </td>
                  <td>{r.type}</td>
                  <td>{r.owners || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

/** Upstream and downstream columns of a selected column, by distance. */
export function ColumnPaths({
  trace,
  graph,
  onSelect,
}: {
  trace: ColumnTrace;
  graph: GraphState;
  onSelect(fqn: string): void;
}) {
  const resolve = columnResolver(graph.nodes);
  const list = (m: Map<string, number>, title: string, testid: string) => {
    const rows = [...m].filter(([, d]) => d > 0).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    return (
      <div className="hw-section">
        <h4>
          {title} ({rows.length})
        </h4>
        {rows.length === 0 && <div className="hw-muted">none in this graph</div>}
        <table className="hw-table" data-testid={testid}>
          <tbody>
            {rows.map(([c, d]) => {
              const r = resolve(c);
              const ref = r ? graph.nodes.get(r.nodeId)?.ref : undefined;
              return (
                <tr key={c} className="hw-clickable" onClick={() => onSelect(c)} title={c}>
                  <td className="hw-muted">{d}</td>
                  <td>
                    {ref ? label(ref) : ""}.<b>{r?.name ?? c}</b>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    );
  };
  return (
    <>
      {list(trace.upDepth, "Upstream columns", "column-upstream")}
      {list(trace.depth, "Downstream columns", "column-downstream")}
    </>
  );
}
