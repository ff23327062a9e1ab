import { forwardRef, useEffect, useImperativeHandle, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  getNodesBounds,
  getViewportForBounds,
  useReactFlow,
  ReactFlowProvider,
} from "@xyflow/react";
import type { Edge, EdgeMouseHandler, NodeMouseHandler } from "@xyflow/react";
import { toPng, toSvg } from "html-to-image";
import type { AssetDetails } from "../types";
import { label } from "../types";
import type { ColumnTrace, GraphState } from "../graph";
import { columnResolver, tracePath, viewGraph } from "../graph";
import { layout } from "../layout";
import { TYPE_COLORS, iconKey } from "../icons";
import { AssetNode, nodeSize } from "./AssetNode";
import type { DiffMarks } from "./Changes";
import type { AssetFlowNode, AssetNodeData } from "./AssetNode";

const nodeTypes = { asset: AssetNode };

export type Selection =
  | { kind: "node"; id: string }
  | { kind: "edge"; id: string; edgeKeys: string[] }
  | { kind: "column"; fqn: string }
  | null;

export interface GraphViewHandle {
  exportImage(format: "png" | "svg"): Promise<string>;
  fit(): void;
  /** Bring a node into view (it stays at the current zoom or closer). */
  focus(id: string): void;
}

interface Props {
  graph: GraphState;
  details: Map<string, AssetDetails>;
  columns: Map<string, string[]>;
  openColumns: Set<string>;
  showPipelines: boolean;
  busy: Set<string>;
  selection: Selection;
  trace: ColumnTrace | null;
  onSelect(s: Selection): void;
  onRendered(nodeCount: number, edgeCount: number): void;
  /** Lineage diff to paint on the edges in view (the Changes panel). */
  diff?: DiffMarks | null;
  /** the graph shows this past instant: assets deleted since are marked (from their details) */
  asOf?: number | null;
}

const VIRTUALIZE_ABOVE = 300;
const EMPTY_SET: Set<string> = new Set();

function sameData(a: AssetNodeData, b: AssetNodeData): boolean {
  for (const k of Object.keys(b) as (keyof AssetNodeData)[]) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (Array.isArray(x) && Array.isArray(y) && x.join("\u0000") === y.join("\u0000")) continue;
    return false;
  }
  return true;
}

const Inner = forwardRef<GraphViewHandle, Props>(function Inner(props, ref) {
  const { graph, details, columns, openColumns, showPipelines, busy, selection, trace, diff, asOf } = props;
  const rf = useReactFlow();
  const [positions, setPositions] = useState<Map<string, { x: number; y: number }> | null>(null);
  const [exporting, setExporting] = useState(false);
  const [showMiniMap, setShowMiniMap] = useState(false);
  const wrapper = useRef<HTMLDivElement>(null);
  const layoutSeq = useRef(0);
  const fittedFor = useRef<string>("");

  const view = useMemo(() => viewGraph(graph, showPipelines), [graph, showPipelines]);

  const nodeColumns = useMemo(() => {
    const m = new Map<string, string[] | null>();
    for (const n of view.nodes) m.set(n.id, openColumns.has(n.id) ? (columns.get(n.id) ?? []) : null);
    return m;
  }, [view, openColumns, columns]);

  // Layout whenever the drawn structure or node sizes change.
  const structureKey = useMemo(() => {
    const parts = view.nodes.map((n) => `${n.id}:${nodeColumns.get(n.id)?.length ?? -1}`);
    return parts.join(",") + "|" + view.edges.map((e) => e.id).join(",");
  }, [view, nodeColumns]);

  useEffect(() => {
    const seq = ++layoutSeq.current;
    if (!view.nodes.length) {
      setPositions(null);
      return;
    }
    const lnodes = view.nodes.map((n) => ({
      id: n.id,
      ...nodeSize({ kind: n.kind, columns: nodeColumns.get(n.id) ?? null }),
    }));
    const ledges = view.edges.map((e) => ({ id: e.id, source: e.source, target: e.target }));
    performance.mark("hw:layout-start");
    layout(lnodes, ledges).then(
      (pos) => {
        performance.mark("hw:layout-done");
        if (seq !== layoutSeq.current) return;
        // Fit a new graph before its first paint, so the nodes render once, at the final zoom.
        const key = `${graph.rootId}:${showPipelines}`;
        const el = wrapper.current;
        if (fittedFor.current !== key && el && lnodes.length) {
          fittedFor.current = key;
          let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
          for (const n of lnodes) {
            const p = pos.get(n.id) ?? { x: 0, y: 0 };
            x0 = Math.min(x0, p.x);
            y0 = Math.min(y0, p.y);
            x1 = Math.max(x1, p.x + n.width);
            y1 = Math.max(y1, p.y + n.height);
          }
          const vp = getViewportForBounds(
            { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
            el.clientWidth,
            el.clientHeight,
            0.03,
            1.1,
            0.15,
          );
          rf.setViewport(vp);
        }
        setPositions(pos);
      },
      (err) => console.error("layout failed", err),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [structureKey]);

  // Highlight sets.
  const hl = useMemo(() => {
    if (selection?.kind === "column" && trace) return { nodes: trace.nodes, edges: trace.edges };
    if (selection?.kind === "node" && graph.nodes.has(selection.id)) return tracePath(graph, selection.id);
    return null;
  }, [selection, trace, graph]);

  const hotColumnsByNode = useMemo(() => {
    if (!trace) return null;
    const resolve = columnResolver(graph.nodes);
    const m = new Map<string, Set<string>>();
    for (const c of trace.columns) {
      const r = resolve(c);
      if (r) (m.get(r.nodeId) ?? m.set(r.nodeId, new Set()).get(r.nodeId)!).add(r.name);
    }
    return m;
  }, [trace, graph]);

  // Node objects keep their identity while nothing about them changed, so React Flow only
  // re-renders the nodes that did (matters with hundreds of nodes).
  const nodeCache = useRef(new Map<string, AssetFlowNode>());
  const nodes: AssetFlowNode[] = useMemo(() => {
    if (!positions) return [];
    const prev = nodeCache.current;
    const next = new Map<string, AssetFlowNode>();
    const out = view.nodes.map((n) => {
      const cols = nodeColumns.get(n.id) ?? null;
      const known = columns.get(n.id)?.length ?? 0;
      const d = details.get(n.id);
      const p = positions.get(n.id) ?? { x: 0, y: 0 };
      const size = nodeSize({ kind: n.kind, columns: cols });
      const data: AssetNodeData = {
        ref: n.ref,
        kind: n.kind,
        isRoot: n.id === graph.rootId,
        columns: cols,
        columnCount: known,
        columnsKnown: !!d,
        expanded: [...(graph.expanded.get(n.id) ?? [])],
        busy: busy.has(n.id),
        dim: !!hl && !hl.nodes.has(n.id),
        hot: !!hl && hl.nodes.has(n.id),
        selectedColumn: selection?.kind === "column" ? selection.fqn : null,
        hotColumns: hotColumnsByNode ? (hotColumnsByNode.get(n.id) ?? EMPTY_SET) : null,
        tableType: (d?.attributes as Record<string, unknown> | undefined)?.tableType,
        deletedSince: !!asOf && !!d?.deleted && !n.ref.deleted,
      };
      const selected = selection?.kind === "node" && selection.id === n.id;
      const old = prev.get(n.id);
      const node: AssetFlowNode =
        old &&
        old.position.x === p.x &&
        old.position.y === p.y &&
        old.selected === selected &&
        old.width === size.width &&
        old.height === size.height &&
        sameData(old.data, data)
          ? old
          : // `measured` tells React Flow the node keeps its measured handles: a node object
            // without it has its handle bounds reset, and its edges vanish until the next
            // measurement (a frame later), on every change to the node.
            { id: n.id, type: "asset" as const, position: p, selected, ...size, measured: size, data };
      next.set(n.id, node);
      return node;
    });
    nodeCache.current = next;
    return out;
  }, [positions, view, nodeColumns, columns, details, graph, busy, hl, selection, hotColumnsByNode, asOf]);

  const edgeCache = useRef(new Map<string, Edge>());
  const edges: Edge[] = useMemo(() => {
    if (!positions) return [];
    const showLabels = view.edges.length <= 150;
    const selEdge = selection?.kind === "edge" ? selection.id : null;
    const prevEdges = edgeCache.current;
    const nextEdges = new Map<string, Edge>();
    const out: Edge[] = view.edges.map((e) => {
      const hot = hl ? e.edgeKeys.some((k) => hl.edges.has(k)) : false;
      const viaLabel = e.via && e.via.length ? e.via.map(label).join(", ") : undefined;
      const change = diff ? e.edgeKeys.map((k) => diff.edges.get(k)).find(Boolean) : undefined;
      const className = `hw-edge${hl && !hot ? " hw-dim" : ""}${hot ? " hw-hot" : ""}${change ? ` hw-diff-${change}` : ""}`;
      const selected = selEdge === e.id;
      const lbl = showLabels ? viaLabel : undefined;
      const old = prevEdges.get(e.id);
      if (
        old &&
        old.className === className &&
        old.selected === selected &&
        old.label === lbl &&
        old.source === e.source &&
        old.target === e.target &&
        (old.data as { edgeKeys: string[] }).edgeKeys.join() === e.edgeKeys.join()
      ) {
        nextEdges.set(e.id, old);
        return old;
      }
      const edge = {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: "out",
        targetHandle: "in",
        type: "default",
        selected,
        className,
        label: lbl,
        data: { edgeKeys: e.edgeKeys },
        interactionWidth: 14,
        domAttributes: {
          "data-testid": "graph-edge",
          "data-source": e.source,
          "data-target": e.target,
          ...(change ? { "data-diff": change } : {}),
        },
      } as Edge;
      nextEdges.set(e.id, edge);
      return edge;
    });
    edgeCache.current = nextEdges;
    // Edges removed in the diff whose ends are both drawn: red dashed ghosts (not laid out).
    if (diff?.removed.length) {
      const drawnNodes = new Set(view.nodes.map((n) => n.id));
      const drawnPairs = new Set(view.edges.map((e) => `${e.source}->${e.target}`));
      for (const r of diff.removed) {
        if (!drawnNodes.has(r.from) || !drawnNodes.has(r.to) || drawnPairs.has(r.key)) continue;
        out.push({
          id: `diff-removed:${r.key}`,
          source: r.from,
          target: r.to,
          sourceHandle: "out",
          targetHandle: "in",
          type: "default",
          className: "hw-edge hw-diff-removed",
          selectable: false,
          data: { edgeKeys: [] },
          domAttributes: {
            "data-testid": "graph-edge-removed",
            "data-source": r.from,
            "data-target": r.to,
            "data-diff": "removed",
          },
        } as Edge);
      }
    }
    // Column-level edges between open column lists.
    if (openColumns.size) {
      const resolve = columnResolver(graph.nodes);
      const drawn = new Set(view.nodes.map((n) => n.id));
      for (const ge of graph.edges.values())
        for (const cl of ge.details.columnsLineage ?? []) {
          if (!cl.toColumn) continue;
          const t = resolve(cl.toColumn);
          if (!t || !drawn.has(t.nodeId)) continue;
          for (const f of cl.fromColumns ?? []) {
            const s = resolve(f);
            if (!s || !drawn.has(s.nodeId)) continue;
            const sOpen = openColumns.has(s.nodeId);
            const tOpen = openColumns.has(t.nodeId);
            if (!sOpen && !tOpen) continue;
            const hot = trace ? trace.columns.has(f) && trace.columns.has(cl.toColumn) : false;
            out.push({
              id: `col:${f}->${cl.toColumn}`,
              source: s.nodeId,
              target: t.nodeId,
              sourceHandle: sOpen ? `out:${s.name}` : "out",
              targetHandle: tOpen ? `in:${t.name}` : "in",
              type: "default",
              className: `hw-col-edge${trace && !hot ? " hw-dim" : ""}${hot ? " hw-hot" : ""}`,
              data: { edgeKeys: [ge.key], column: { from: f, to: cl.toColumn } },
              interactionWidth: 8,
              domAttributes: {
                "data-testid": "graph-column-edge",
                "data-from-column": f,
                "data-to-column": cl.toColumn,
              },
            } as Edge);
          }
        }
    }
    return out;
  }, [positions, view, selection, hl, openColumns, graph, trace, diff]);

  // Fit the view when a new graph is first laid out.
  useEffect(() => {
    if (!positions || !nodes.length) return;
    performance.mark("hw:committed");
    let raf2 = 0;
    const raf = requestAnimationFrame(() => {
      raf2 = requestAnimationFrame(() => {
        props.onRendered(nodes.length, edges.length);
        // The overview map is drawn after the graph itself: first paint comes sooner.
        setShowMiniMap(true);
      });
    });
    return () => {
      cancelAnimationFrame(raf);
      cancelAnimationFrame(raf2);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [positions]);

  useImperativeHandle(ref, () => ({
    fit: () => rf.fitView({ padding: 0.15, maxZoom: 1.1, minZoom: 0.05 }),
    focus(id) {
      const n = rf.getNode(id);
      if (!n) return;
      const w = n.width ?? n.measured?.width ?? 0;
      const h = n.height ?? n.measured?.height ?? 0;
      rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 0.8), duration: 250 });
    },
    async exportImage(format) {
      setExporting(true);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      try {
        const vp = wrapper.current?.querySelector<HTMLElement>(".react-flow__viewport");
        if (!vp) throw new Error("graph not rendered");
        const bounds = getNodesBounds(rf.getNodes());
        const pad = 40;
        const scale = Math.min(1.5, 4000 / Math.max(bounds.width + 2 * pad, bounds.height + 2 * pad));
        const width = Math.ceil((bounds.width + 2 * pad) * scale);
        const height = Math.ceil((bounds.height + 2 * pad) * scale);
        const v = getViewportForBounds(bounds, width, height, scale * 0.5, scale, 0);
        const opts = {
          backgroundColor: "#ffffff",
          width,
          height,
          style: {
            width: `${width}px`,
            height: `${height}px`,
            transform: `translate(${v.x}px, ${v.y}px) scale(${v.zoom})`,
          },
          skipFonts: true,
        };
        return format === "png" ? await toPng(vp, opts) : await toSvg(vp, opts);
      } finally {
        setExporting(false);
      }
    },
  }));

  const onNodeClick: NodeMouseHandler = (_e, n) => props.onSelect({ kind: "node", id: n.id });
  const onEdgeClick: EdgeMouseHandler = (_e, e) => {
    const keys = (e.data as { edgeKeys: string[] }).edgeKeys;
    props.onSelect({ kind: "edge", id: e.id, edgeKeys: keys });
  };

  return (
    <div className="hw-graph" ref={wrapper} data-testid="graph" data-node-count={nodes.length}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodeClick={onNodeClick}
        onEdgeClick={onEdgeClick}
        onPaneClick={() => props.onSelect(null)}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={true}
        onlyRenderVisibleElements={!exporting && nodes.length > VIRTUALIZE_ABOVE}
        minZoom={0.03}
        maxZoom={2}
        fitView={false}
      >
        {/* the dot pattern repaints on every pan frame: left out for big graphs */}
        {nodes.length <= VIRTUALIZE_ABOVE && <Background gap={24} size={1} color="#e2e8f0" />}
        <Controls showInteractive={false} />
        {showMiniMap && nodes.length <= 1500 && (
          <MiniMap
            pannable
            zoomable
            nodeStrokeWidth={2}
            nodeColor={(n) => (n.data as AssetFlowNode["data"]).hot ? "#fcd34d" : (TYPE_COLORS[iconKey((n.data as AssetFlowNode["data"]).ref.type)] ?? "#94a3b8") + "55"}
          />
        )}
      </ReactFlow>
    </div>
  );
});

export const GraphView = forwardRef<GraphViewHandle, Props>(function GraphView(props, ref) {
  return (
    <ReactFlowProvider>
      <Inner {...props} ref={ref} />
    </ReactFlowProvider>
  );
});
