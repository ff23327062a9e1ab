// Layered left-to-right layout with ELK, run in a web worker so the page stays responsive.
import ELK from "elkjs/lib/elk-api.js";
import type { ElkNode } from "elkjs/lib/elk-api.js";
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import { fastLayout } from "./fastLayout";

/** Above this many nodes the built-in layered layout is used: ELK needs seconds there. */
export const ELK_MAX_NODES = 300;

let elk: InstanceType<typeof ELK> | null = null;
function engine() {
  if (!elk) elk = new ELK({ workerUrl: elkWorkerUrl });
  return elk;
}

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}
export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
}

export async function layout(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
): Promise<Map<string, { x: number; y: number }>> {
  if (nodes.length > ELK_MAX_NODES) return fastLayout(nodes, edges);
  const big = nodes.length > 150;
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.spacing.nodeNode": "22",
      "elk.layered.spacing.nodeNodeBetweenLayers": "90",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.crossingMinimization.thoroughness": big ? "3" : "7",
      ...(big ? {} : { "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES" }),
      "elk.separateConnectedComponents": "false",
      // React Flow draws its own edges: ELK's cheapest routing is enough (splines cost seconds on big graphs).
      "elk.edgeRouting": "POLYLINE",
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  const res = await engine().layout(graph);
  const pos = new Map<string, { x: number; y: number }>();
  for (const c of res.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  return pos;
}

/** Start the layout worker early (it parses a large script) so it is ready when lineage arrives. */
export function warmLayout(): void {
  void engine()
    .layout({ id: "warm", children: [{ id: "a", width: 10, height: 10 }], edges: [] })
    .catch(() => undefined);
}
