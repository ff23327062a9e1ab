import { useEffect, useState } from "react";
import { api } from "../api";
import { TypeIcon } from "../icons";
import type { EntityReference, RootCause, RootCauseItem, RootCauseRun } from "../types";
import { label } from "../types";
import { fmtInstant, fmtTime } from "./Panels";

/** How each suspicion reads, and the row style it gets. */
const SUSPICION: Record<string, { text: string; cls: string }> = {
  run_failed: { text: "failed run", cls: "hw-rc-failed" },
  run_late: { text: "late run", cls: "hw-rc-late" },
  edge_changed: { text: "edge changed", cls: "hw-rc-changed" },
  run_running: { text: "running", cls: "hw-rc-running" },
  ok: { text: "ok", cls: "hw-rc-ok" },
};

/** Rows drawn: the list is ordered most suspect first, so the tail matters least. */
const SHOWN = 500;

function runTime(r: RootCauseRun): number | null | undefined {
  return r.endedAt ?? r.startedAt ?? r.updatedAt;
}

function RunLine({ run }: { run: RootCauseRun }) {
  const name = run.pipeline.name || run.pipeline.fullyQualifiedName || String(run.pipeline.pk ?? "?");
  const failed = !!run.state && /FAIL|ABORT/.test(run.state);
  return (
    <div
      className="hw-rc-run"
      data-testid="rootcause-run"
      data-pipeline={run.pipeline.fullyQualifiedName ?? ""}
      data-state={run.state ?? "none"}
      data-late={run.late ? "1" : undefined}
    >
      <TypeIcon type={run.pipeline.type ?? "pipeline"} size={14} /> <span title={run.pipeline.fullyQualifiedName ?? ""}>{name}</span>{" "}
      {run.state ? (
        <>
          <span className={`hw-badge${failed ? " hw-badge-warn" : run.late ? " hw-badge-late" : ""}`}>{run.state}</span>
          {run.late && <span className="hw-badge hw-badge-late">late</span>}
          <span className="hw-muted hw-small">{fmtTime(runTime(run))}</span>
          {(run.errorMessage || run.lateReason) && (
            <div className="hw-small hw-rc-why">{run.errorMessage || run.lateReason}</div>
          )}
        </>
      ) : (
        <span className="hw-muted hw-small">no run recorded</span>
      )}
    </div>
  );
}

/** Everything upstream of an asset with the latest run of each job on the path, most likely
 * culprits first (the order of GET /api/v1/analysis/rootCause). */
export function RootCauseView({
  target,
  asOf,
  inGraph,
  selectedId,
  onFocus,
  onOpen,
}: {
  target: EntityReference;
  asOf: number | null;
  inGraph(id: string): boolean;
  selectedId: string | null;
  onFocus(id: string, upstreamDepth?: number): void;
  onOpen(r: EntityReference): void;
}) {
  const [result, setResult] = useState<RootCause | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hours, setHours] = useState(168);

  useEffect(() => {
    let cancelled = false;
    setResult(null);
    setError(null);
    const q = new URLSearchParams({ id: target.id, entityType: target.type, changedWithinHours: String(hours) });
    if (asOf) q.set("asOf", String(asOf));
    api.rootCause(q).then(
      (r) => !cancelled && setResult(r),
      (e: Error) => !cancelled && setError(e.message),
    );
    return () => {
      cancelled = true;
    };
  }, [target, hours, asOf]);

  const items = result?.items ?? [];
  const suspicious = items.filter((i) => i.suspicion !== "ok").length;

  const click = (it: RootCauseItem) => {
    if (inGraph(it.id)) onFocus(it.id);
    else if (it.depth <= 10) onFocus(it.id, it.depth);
    else onOpen({ id: it.id, type: it.type, fullyQualifiedName: it.fullyQualifiedName ?? undefined, name: it.name });
  };

  return (
    <div className="hw-panel-body" data-testid="rootcause-view">
      <div className="hw-panel-title">
        <TypeIcon type={target.type} size={22} />
        <div>
          <h3>Root cause of {label(target)}</h3>
          <div className="hw-muted">everything upstream with its latest runs, likely culprits first</div>
        </div>
      </div>
      {asOf && (
        <div className="hw-warn" data-testid="rootcause-asof">
          As of {fmtInstant(asOf)}: the graph then, the runs as reported by then, lateness judged at that time.
        </div>
      )}
      <div className="hw-actions">
        <label className="hw-small hw-muted">
          edges changed within{" "}
          <select value={hours} onChange={(e) => setHours(+e.target.value)} data-testid="rootcause-window">
            <option value={1}>1 hour</option>
            <option value={24}>1 day</option>
            <option value={168}>7 days</option>
            <option value={720}>30 days</option>
          </select>{" "}
          are suspect
        </label>
      </div>
      {error && <div className="hw-error">{error}</div>}
      {!result && !error && <div className="hw-muted">Looking upstream…</div>}
      {result && (
        <>
          <div className="hw-actions">
            <span data-testid="rootcause-count">
              {items.length} upstream {items.length === 1 ? "asset" : "assets"}, {suspicious} suspect
            </span>
          </div>
          {result.truncated && <div className="hw-warn">Cut at the node limit: some upstream assets are missing.</div>}
          {items.length === 0 && <div className="hw-muted">Nothing upstream.</div>}
          <table className="hw-table hw-rc">
            <tbody>
              {items.slice(0, SHOWN).map((it) => {
                const s = SUSPICION[it.suspicion] ?? SUSPICION.ok;
                const top = it.reasons[0];
                return (
                  <tr
                    key={it.id}
                    className={`hw-clickable ${s.cls}${selectedId === it.id ? " hw-row-sel" : ""}`}
                    data-testid="rootcause-row"
                    data-id={it.id}
                    data-fqn={it.fullyQualifiedName ?? ""}
                    data-suspicion={it.suspicion}
                    onClick={() => click(it)}
                    title={it.path.join(" > ")}
                  >
                    <td className="hw-muted">{it.depth}</td>
                    <td>
                      <div>
                        <TypeIcon type={it.type} size={14} /> <b>{it.name || it.fullyQualifiedName}</b>{" "}
                        <span className={`hw-badge hw-rc-badge ${s.cls}`} data-testid="rootcause-suspicion">
                          {s.text}
                        </span>
                      </div>
                      <div className="hw-muted hw-small">{it.fullyQualifiedName}</div>
                      {top && top.kind === "edge_changed" && (
                        <div className="hw-small">edge to {top.edge?.[1]?.split(".").pop()} changed {fmtTime(top.at)}</div>
                      )}
                      {it.runs.map((r, i) => (
                        <RunLine key={i} run={r} />
                      ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {items.length > SHOWN && <div className="hw-muted hw-small">… and {items.length - SHOWN} more, less suspect</div>}
          {result.pipelines.length > 0 && (
            <div className="hw-section">
              <h4>Latest run of each job ({result.pipelines.length})</h4>
              <div data-testid="rootcause-pipelines">
                {result.pipelines.map((r, i) => (
                  <RunLine key={i} run={r} />
                ))}
              </div>
            </div>
          )}
          <div className="hw-muted hw-small">evaluated {fmtTime(result.evaluatedAt)}</div>
        </>
      )}
    </div>
  );
}
