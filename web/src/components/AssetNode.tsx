import { createContext, memo, useContext, useLayoutEffect, useRef } from "react";
import { Handle, Position, useStore, useUpdateNodeInternals } from "@xyflow/react";
import type { NodeProps, Node } from "@xyflow/react";
import { TypeIcon } from "../icons";
import type { EntityReference } from "../types";
import { label } from "../types";

export interface GraphActions {
  expand(id: string, type: string, dir: "up" | "down"): void;
  collapse(id: string, dir: "up" | "down"): void;
  toggleColumns(id: string): void;
  selectColumn(fqn: string): void;
}

export const ActionsContext = createContext<GraphActions | null>(null);

export const NODE_WIDTH = 260;
export const NODE_HEIGHT = 58;
export const PIPE_WIDTH = 200;
export const PIPE_HEIGHT = 40;
export const COL_HEIGHT = 24;

export type AssetNodeData = {
  ref: EntityReference;
  kind: "asset" | "pipeline";
  isRoot: boolean;
  /** column names when the column list is open, else null */
  columns: string[] | null;
  columnCount: number;
  /** true once the asset's own column list was fetched (else only lineage-derived names) */
  columnsKnown: boolean;
  expanded: ("up" | "down")[];
  busy: boolean;
  dim: boolean;
  hot: boolean;
  selectedColumn: string | null;
  hotColumns: Set<string> | null; // column names highlighted in this node
  tableType?: unknown;
  /** the graph shows a past instant and this asset has been deleted since */
  deletedSince?: boolean;
};

export type AssetFlowNode = Node<AssetNodeData, "asset">;

export function nodeSize(d: { kind: string; columns: string[] | null }) {
  if (d.kind === "pipeline") return { width: PIPE_WIDTH, height: PIPE_HEIGHT };
  return {
    width: NODE_WIDTH,
    height: NODE_HEIGHT + (d.columns ? Math.max(1, d.columns.length) * COL_HEIGHT + 12 : 0),
  };
}

/** Below this zoom nodes are drawn without controls (text is unreadable anyway): big graphs stay fast. */
export const DETAIL_ZOOM = 0.45;
const zoomedOutSelector = (s: { transform: [number, number, number] }) => s.transform[2] < DETAIL_ZOOM;

function AssetNodeImpl({ id, data }: NodeProps<AssetFlowNode>) {
  const actions = useContext(ActionsContext)!;
  const zoomedOut = useStore(zoomedOutSelector);
  // React Flow measures a node's handles when it mounts or resizes. Opening or changing the column
  // list adds handles (`in:col`, `out:col`) that column edges attach to; if the re-measure raced the
  // list, those edges would stay undrawn. Re-measure explicitly whenever the list changes.
  const updateNodeInternals = useUpdateNodeInternals();
  const columnsKey = data.columns ? data.columns.join("\u0000") : null;
  const measuredColumns = useRef(columnsKey);
  // A layout effect: the handles are measured before the browser paints, so an edge to a
  // column that just appeared is never drawn a frame late (or missing for a frame).
  useLayoutEffect(() => {
    if (measuredColumns.current === columnsKey) return; // mounting: React Flow measures anyway
    measuredColumns.current = columnsKey;
    updateNodeInternals(id);
  }, [id, columnsKey, updateNodeInternals]);
  const r = data.ref;
  const fqnBase = r.fullyQualifiedName ?? "";
  const cls = [
    "hw-node",
    data.kind === "pipeline" ? "hw-pipeline" : "",
    data.isRoot ? "hw-root" : "",
    data.dim ? "hw-dim" : "",
    data.hot ? "hw-hot" : "",
    r.deleted || data.deletedSince ? "hw-deleted" : "",
    data.deletedSince ? "hw-deleted-since" : "",
  ]
    .filter(Boolean)
    .join(" ");
  const stop = (fn: () => void) => (e: React.MouseEvent) => {
    e.stopPropagation();
    fn();
  };
  const upOpen = data.expanded.includes("up");
  const downOpen = data.expanded.includes("down");
  if (zoomedOut && !data.columns)
    return (
      <div className={`${cls} hw-lod`} data-testid="graph-node" data-node-id={id} data-fqn={fqnBase} data-type={r.type}>
        <Handle type="target" position={Position.Left} id="in" className="hw-handle" />
        <Handle type="source" position={Position.Right} id="out" className="hw-handle" />
        <TypeIcon type={r.type} tableType={data.tableType} size={28} />
        <span className="hw-lod-name">{label(r)}</span>
      </div>
    );
  return (
    <div className={cls} data-testid="graph-node" data-node-id={id} data-fqn={fqnBase} data-type={r.type}>
      <Handle type="target" position={Position.Left} id="in" className="hw-handle" />
      <Handle type="source" position={Position.Right} id="out" className="hw-handle" />
      <div className="hw-node-head">
        <button
          className="hw-hop hw-hop-up"
          title={upOpen ? "Collapse upstream" : "Expand one hop upstream"}
          data-testid={upOpen ? "collapse-up" : "expand-up"}
          onClick={stop(() => (upOpen ? actions.collapse(id, "up") : actions.expand(id, r.type, "up")))}
        >
          {upOpen ? "−" : "+"}
        </button>
        <TypeIcon type={r.type} tableType={data.tableType} size={data.kind === "pipeline" ? 16 : 20} />
        <div className="hw-node-text">
          <div className="hw-node-name" title={fqnBase}>
            {label(r)}
          </div>
          {data.kind !== "pipeline" && (
            <div className="hw-node-sub">
              <span className="hw-node-type">{r.type}</span>
              {data.deletedSince && (
                <span className="hw-badge hw-badge-warn" data-testid="node-deleted-since">
                  deleted since
                </span>
              )}
              {(data.columnCount > 0 || data.ref.type === "table") && (
                <button
                  className="hw-cols-toggle"
                  data-testid="toggle-columns"
                  onClick={stop(() => actions.toggleColumns(id))}
                  title={data.columns ? "Hide columns" : "Show columns"}
                >
                  {data.columns ? "▾" : "▸"}{" "}
                  {data.columnsKnown
                    ? `${data.columnCount} col${data.columnCount === 1 ? "" : "s"}`
                    : "columns"}
                </button>
              )}
            </div>
          )}
        </div>
        {data.busy && <span className="hw-spinner" aria-label="loading" />}
        <button
          className="hw-hop hw-hop-down"
          title={downOpen ? "Collapse downstream" : "Expand one hop downstream"}
          data-testid={downOpen ? "collapse-down" : "expand-down"}
          onClick={stop(() => (downOpen ? actions.collapse(id, "down") : actions.expand(id, r.type, "down")))}
        >
          {downOpen ? "−" : "+"}
        </button>
      </div>
      {data.columns && (
        <ul className="hw-cols">
          {data.columns.length === 0 && <li className="hw-col hw-col-empty">no columns known</li>}
          {data.columns.map((c) => {
            const fqn = `${fqnBase}.${c}`;
            const hot = data.hotColumns?.has(c);
            const sel = data.selectedColumn === fqn;
            return (
              <li
                key={c}
                className={`hw-col${hot ? " hw-col-hot" : ""}${sel ? " hw-col-sel" : ""}${
                  data.hotColumns && !hot ? " hw-col-dim" : ""
                }`}
                data-testid="graph-column"
                data-column-fqn={fqn}
                onClick={stop(() => actions.selectColumn(fqn))}
                title={fqn}
              >
                <Handle type="target" position={Position.Left} id={`in:${c}`} className="hw-col-handle" />
                <span className="hw-col-name">{c}</span>
                <Handle type="source" position={Position.Right} id={`out:${c}`} className="hw-col-handle" />
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export const AssetNode = memo(AssetNodeImpl);
