import { useEffect, useState } from "react";
import { api } from "../api";
import { TypeIcon } from "../icons";
import type { AnalysisRef, DiffColumn, DiffEdge, DiffMapping, EntityReference, LineageDiff, MarquezRun } from "../types";
import { label } from "../types";
import { edgeKey } from "../graph";
import { fmtInstant, fmtTime } from "./Panels";

// Times in the UI are UTC, as the API writes them: a <input type="datetime-local"> is read as UTC.

/** `2026-11-22T09:00:00` (UTC) for a datetime-local input. */
export function toInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function fromInput(v: string): number | null {
  if (!v) return null;
  const ms = Date.parse(`${v.length === 16 ? `${v}:00` : v}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** The toolbar control: show the lineage as it stood at a past instant. */
export function AsOfControl({ asOf, onChange }: { asOf: number | null; onChange(asOf: number | null): void }) {
  const [value, setValue] = useState(asOf ? toInput(asOf) : "");
  useEffect(() => setValue(asOf ? toInput(asOf) : ""), [asOf]);
  return (
    <form
      className="hw-asof"
      data-testid="asof-form"
      title="Show the lineage as it stood at this instant (UTC)"
      onSubmit={(e) => {
        e.preventDefault();
        const ms = fromInput(value);
        if (ms !== null) onChange(ms);
      }}
    >
      <label>
        as of
        <input
          type="datetime-local"
          step={1}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          data-testid="asof-input"
        />
        <span className="hw-small">UTC</span>
      </label>
      <button type="submit" data-testid="asof-apply" disabled={!value}>
        View
      </button>
      {asOf && (
        <button type="button" data-testid="asof-clear" onClick={() => onChange(null)} title="Back to the current lineage">
          Now
        </button>
      )}
    </form>
  );
}

export type DiffKind = "added" | "removed" | "changed";

export interface DiffMarks {
  /** lineage edge key (`from->to` by id) -> what happened to it */
  edges: Map<string, DiffKind>;
  /** removed edges, drawn as ghosts when both ends are in view */
  removed: { key: string; from: string; to: string }[];
}

export function diffMarks(d: LineageDiff): DiffMarks {
  const edges = new Map<string, DiffKind>();
  const removed: DiffMarks["removed"] = [];
  const put = (list: DiffEdge[], kind: DiffKind) => {
    for (const e of list) {
      const from = e.fromEntity.id;
      const to = e.toEntity.id;
      if (!from || !to) continue;
      const key = edgeKey(from, to);
      if (!edges.has(key)) edges.set(key, kind);
      if (kind === "removed") removed.push({ key, from, to });
    }
  };
  put(d.edges.added, "added");
  put(d.edges.changed, "changed");
  put(d.edges.removed, "removed");
  // An edge whose column mappings changed is a changed edge even if nothing else did.
  for (const c of [...d.columns.added, ...d.columns.removed, ...d.columns.changed]) {
    const from = c.fromEntity.id;
    const to = c.toEntity.id;
    if (from && to && !edges.has(edgeKey(from, to))) edges.set(edgeKey(from, to), "changed");
  }
  return { edges, removed };
}

function refName(r: AnalysisRef): string {
  const fqn = r.fullyQualifiedName ?? "";
  const parts = fqn.split(".");
  return parts.length > 2 ? parts.slice(-2).join(".") : fqn || String(r.pk ?? r.id ?? "?");
}

function mapping(m?: DiffMapping): string {
  if (!m) return "";
  const from = m.fromColumns.map((c) => c.split(".").slice(-2).join(".")).join(", ");
  return m.function ? `${m.function}(${from})` : from;
}

/** Rows drawn per table; a wide window on a big catalog can change far more. */
const SHOWN = 500;

const KIND_TEXT: Record<DiffKind, string> = { added: "added", removed: "removed", changed: "changed" };

/** What changed in the lineage between two instants, or between two runs of a pipeline. */
export function ChangesView({
  pipeline,
  asOf,
  result,
  onResult,
  inView,
  onFocus,
}: {
  pipeline: EntityReference | null;
  asOf: number | null;
  result: LineageDiff | null;
  onResult(d: LineageDiff | null): void;
  inView(from: string, to: string): boolean;
  onFocus(id: string): void;
}) {
  const [from, setFrom] = useState(() => toInput((asOf ?? Date.now()) - 7 * 24 * 3600 * 1000));
  const [to, setTo] = useState(() => (asOf ? toInput(asOf) : ""));
  const [mode, setMode] = useState<"instants" | "runs">("instants");
  const [onlyPipeline, setOnlyPipeline] = useState(false);
  const [job, setJob] = useState<{ namespace: string; name: string } | null>(null);
  const [runs, setRuns] = useState<MarquezRun[] | null>(null);
  const [runA, setRunA] = useState("");
  const [runB, setRunB] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // A selected OpenLineage job: offer its runs.
  useEffect(() => {
    let cancelled = false;
    setJob(null);
    setRuns(null);
    setMode("instants");
    if (!pipeline) return;
    (async () => {
      const a = await api.asset(pipeline.id);
      const ol = (a.attributes ?? {}).openlineage as { namespace?: string; name?: string } | undefined;
      if (!ol?.namespace || !ol.name) return;
      const r = await api.jobRuns(ol.namespace, ol.name);
      if (cancelled) return;
      setJob({ namespace: ol.namespace, name: ol.name });
      setRuns(r.runs);
      setRunB(r.runs[0]?.id ?? "");
      setRunA(r.runs[1]?.id ?? r.runs[0]?.id ?? "");
    })().catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [pipeline]);

  const compare = () => {
    const q = new URLSearchParams();
    if (mode === "runs") {
      if (!runA || !runB) return setError("Pick two runs.");
      q.set("runA", runA);
      q.set("runB", runB);
    } else {
      const f = fromInput(from);
      if (f === null) return setError("Pick the start instant.");
      q.set("from", String(f));
      const t = fromInput(to);
      if (t !== null) q.set("to", String(t));
      if (onlyPipeline && pipeline?.fullyQualifiedName) {
        q.set("pipeline", pipeline.fullyQualifiedName);
        q.set("pipelineType", pipeline.type);
      }
    }
    setBusy(true);
    setError(null);
    api
      .diff(q)
      .then(onResult, (e: Error) => {
        setError(e.message);
        onResult(null);
      })
      .finally(() => setBusy(false));
  };

  const edgeRows: { kind: DiffKind; e: DiffEdge }[] = result
    ? [
        ...result.edges.added.map((e) => ({ kind: "added" as const, e })),
        ...result.edges.removed.map((e) => ({ kind: "removed" as const, e })),
        ...result.edges.changed.map((e) => ({ kind: "changed" as const, e })),
      ]
    : [];
  const colRows: { kind: DiffKind; c: DiffColumn }[] = result
    ? [
        ...result.columns.added.map((c) => ({ kind: "added" as const, c })),
        ...result.columns.removed.map((c) => ({ kind: "removed" as const, c })),
        ...result.columns.changed.map((c) => ({ kind: "changed" as const, c })),
      ]
    : [];
  const visible = (r: { fromEntity: AnalysisRef; toEntity: AnalysisRef }) =>
    !!r.fromEntity.id && !!r.toEntity.id && inView(r.fromEntity.id, r.toEntity.id);
  const s = result?.summary ?? {};

  return (
    <div className="hw-panel-body" data-testid="changes-view">
      <div className="hw-panel-title">
        <TypeIcon type={mode === "runs" && pipeline ? pipeline.type : "table"} size={22} />
        <div>
          <h3>Changes</h3>
          <div className="hw-muted">lineage edges and column mappings added, removed and changed</div>
        </div>
      </div>
      {runs && runs.length > 0 && (
        <div className="hw-actions">
          <label>
            <input type="radio" checked={mode === "instants"} onChange={() => setMode("instants")} /> between two times
          </label>
          <label>
            <input
              type="radio"
              checked={mode === "runs"}
              onChange={() => setMode("runs")}
              data-testid="diff-mode-runs"
            />{" "}
            between two runs of {pipeline ? label(pipeline) : job?.name}
          </label>
        </div>
      )}
      {mode === "instants" ? (
        <div className="hw-diff-form">
          <label>
            from
            <input
              type="datetime-local"
              step={1}
              value={from}
              onChange={(e) => setFrom(e.target.value)}
              data-testid="diff-from"
            />
          </label>
          <label>
            to
            <input type="datetime-local" step={1} value={to} onChange={(e) => setTo(e.target.value)} data-testid="diff-to" />
            <span className="hw-small hw-muted">{to ? "" : "now"}</span>
          </label>
          <span className="hw-small hw-muted">UTC</span>
          {pipeline && (
            <label className="hw-small">
              <input type="checkbox" checked={onlyPipeline} onChange={(e) => setOnlyPipeline(e.target.checked)} /> only
              edges {label(pipeline)} powers
            </label>
          )}
        </div>
      ) : (
        <div className="hw-diff-form">
          {(
            [
              ["older run", runA, setRunA, "diff-run-a"],
              ["newer run", runB, setRunB, "diff-run-b"],
            ] as const
          ).map(([title, value, set, testid]) => (
            <label key={testid}>
              {title}
              <select value={value} onChange={(e) => set(e.target.value)} data-testid={testid}>
                {(runs ?? []).map((r) => (
                  <option key={r.id} value={r.id}>
                    {(r.startedAt ?? r.createdAt ?? "").replace("T", " ").replace(/\.\d+/, "")} · {r.state}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
      )}
      <div className="hw-actions">
        <button className="hw-primary" onClick={compare} disabled={busy} data-testid="diff-compare">
          {busy ? "Comparing…" : "Compare"}
        </button>
        {result && (
          <button onClick={() => onResult(null)} data-testid="diff-clear">
            Clear
          </button>
        )}
      </div>
      {error && <div className="hw-error">{error}</div>}
      {result && (
        <>
          <div className="hw-muted hw-small" data-testid="diff-window">
            {fmtInstant(result.from)} → {fmtInstant(result.to)}
            {result.pipeline ? ` · only ${result.pipeline.fullyQualifiedName}` : ""}
          </div>
          <div className="hw-diff-summary" data-testid="diff-summary">
            edges <span className="hw-diff-added">+{s.edgesAdded ?? 0}</span>{" "}
            <span className="hw-diff-removed">-{s.edgesRemoved ?? 0}</span>{" "}
            <span className="hw-diff-changed">~{s.edgesChanged ?? 0}</span> · column mappings{" "}
            <span className="hw-diff-added">+{s.columnsAdded ?? 0}</span>{" "}
            <span className="hw-diff-removed">-{s.columnsRemoved ?? 0}</span>{" "}
            <span className="hw-diff-changed">~{s.columnsChanged ?? 0}</span>
            {s.edgesTransient ? ` · ${s.edgesTransient} came and went` : ""}
          </div>
          <div className="hw-section">
            <h4>Edges ({edgeRows.length})</h4>
            {edgeRows.length === 0 && <div className="hw-muted">no edge changed</div>}
            <table className="hw-table">
              <tbody>
                {edgeRows.slice(0, SHOWN).map(({ kind, e }, i) => {
                  const shown = visible(e);
                  return (
                    <tr
                      key={i}
                      className={`hw-diff-row-${kind}${shown ? " hw-clickable" : ""}`}
                      data-testid="diff-edge-row"
                      data-change={kind}
                      data-from={e.fromEntity.fullyQualifiedName ?? ""}
                      data-to={e.toEntity.fullyQualifiedName ?? ""}
                      data-in-view={shown ? "1" : undefined}
                      onClick={() => shown && e.toEntity.id && onFocus(e.toEntity.id)}
                      title={`${e.fromEntity.fullyQualifiedName} → ${e.toEntity.fullyQualifiedName}`}
                    >
                      <td>
                        <span className={`hw-badge hw-diff-${kind}`}>{KIND_TEXT[kind]}</span>
                      </td>
                      <td>
                        {refName(e.fromEntity)} → {refName(e.toEntity)}
                        {kind === "changed" && e.fields && <div className="hw-muted hw-small">{e.fields.join(", ")}</div>}
                      </td>
                      <td className="hw-small hw-muted">{shown ? "in view" : ""}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {edgeRows.length > SHOWN && <div className="hw-muted hw-small">… and {edgeRows.length - SHOWN} more</div>}
          </div>
          <div className="hw-section">
            <h4>Column mappings ({colRows.length})</h4>
            {colRows.length === 0 && <div className="hw-muted">no column mapping changed</div>}
            <table className="hw-table">
              <tbody>
                {colRows.slice(0, SHOWN).map(({ kind, c }, i) => (
                  <tr
                    key={i}
                    data-testid="diff-column-row"
                    data-change={kind}
                    data-from={c.fromEntity.fullyQualifiedName ?? ""}
                    data-to={c.toEntity.fullyQualifiedName ?? ""}
                    data-to-column={c.toColumn}
                  >
                    <td>
                      <span className={`hw-badge hw-diff-${kind}`}>{KIND_TEXT[kind]}</span>
                    </td>
                    <td>
                      <b>{c.toColumn.split(".").slice(-2).join(".")}</b>
                      <div className="hw-small">
                        {kind === "changed" ? (
                          <>
                            <s>{mapping(c.before)}</s> → {mapping(c.after)}
                          </>
                        ) : kind === "added" ? (
                          <>← {mapping(c.after)}</>
                        ) : (
                          <s>← {mapping(c.before)}</s>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {colRows.length > SHOWN && <div className="hw-muted hw-small">… and {colRows.length - SHOWN} more</div>}
          </div>
          {result.assets.length > 0 && (
            <div className="hw-section">
              <h4>Assets ({result.assets.length})</h4>
              <table className="hw-table">
                <tbody>
                  {result.assets
                    .filter((a) => a.type !== "column")
                    .map((a, i) => (
                      <tr key={i} data-testid="diff-asset-row" data-change={a.change}>
                        <td>
                          <span className="hw-badge">{a.change}</span>
                        </td>
                        <td>{a.fullyQualifiedName}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          )}
          <div className="hw-muted hw-small">
            In the graph: <span className="hw-diff-added">added</span>, <span className="hw-diff-removed">removed (dashed)</span>,{" "}
            <span className="hw-diff-changed">changed</span> edges among those in view. Read {fmtTime(Date.now())}.
          </div>
        </>
      )}
    </div>
  );
}
