// Client-side lineage graph: merges lineage responses, expands/collapses hops,
// derives the displayed graph (pipelines as nodes or folded into edges) and
// traces column-level paths.
import type { AssetDetails, EntityLineage, EntityReference, LineageDetails, LineageEdge } from "./types";

export interface GNode {
  ref: EntityReference;
}

export interface GEdge {
  key: string;
  from: string;
  to: string;
  description?: string | null;
  details: LineageDetails;
}

export interface GraphState {
  rootId: string;
  nodes: Map<string, GNode>;
  edges: Map<string, GEdge>;
  truncated: boolean;
  /** node id -> directions already expanded by the user */
  expanded: Map<string, Set<"up" | "down">>;
}

export const edgeKey = (from: string, to: string) => `${from}->${to}`;

export function emptyGraph(root: EntityReference): GraphState {
  return {
    rootId: root.id,
    nodes: new Map([[root.id, { ref: root }]]),
    edges: new Map(),
    truncated: false,
    expanded: new Map(),
  };
}

export function mergeLineage(g: GraphState, lin: EntityLineage): GraphState {
  const nodes = new Map(g.nodes);
  const edges = new Map(g.edges);
  const put = (r: EntityReference) => {
    if (r && r.id) nodes.set(r.id, { ...(nodes.get(r.id) ?? {}), ref: { ...nodes.get(r.id)?.ref, ...r } });
  };
  put(lin.entity);
  for (const n of lin.nodes ?? []) put(n);
  const addEdge = (e: LineageEdge) => {
    const key = edgeKey(e.fromEntity, e.toEntity);
    edges.set(key, {
      key,
      from: e.fromEntity,
      to: e.toEntity,
      description: e.description,
      details: e.lineageDetails ?? {},
    });
  };
  for (const e of lin.upstreamEdges ?? []) addEdge(e);
  for (const e of lin.downstreamEdges ?? []) addEdge(e);
  // An edge may name a node the server did not list (e.g. cut by the limit): drop it.
  for (const [k, e] of edges) if (!nodes.has(e.from) || !nodes.has(e.to)) edges.delete(k);
  return { ...g, nodes, edges, truncated: g.truncated || !!lin.truncated };
}

export function markExpanded(g: GraphState, id: string, dir: "up" | "down", on: boolean): GraphState {
  const expanded = new Map(g.expanded);
  const s = new Set(expanded.get(id) ?? []);
  if (on) s.add(dir);
  else s.delete(dir);
  expanded.set(id, s);
  return { ...g, expanded };
}

function adjacency(edges: Iterable<GEdge>) {
  const out = new Map<string, string[]>();
  const inn = new Map<string, string[]>();
  for (const e of edges) {
    (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(e.to);
    (inn.get(e.to) ?? inn.set(e.to, []).get(e.to)!).push(e.from);
  }
  return { out, inn };
}

/** Hides what lies beyond `id` in direction `dir`, keeping whatever is still
 * connected to the root by another path. */
export function collapse(g: GraphState, id: string, dir: "up" | "down"): GraphState {
  // A pipeline drawn as a node is not a graph node: route the edges it powers through it.
  const viaPipeline = !g.nodes.has(id);
  const routed: GEdge[] = [];
  for (const e of g.edges.values()) {
    if (viaPipeline && e.details.pipeline?.id === id) {
      routed.push({ ...e, to: id }, { ...e, from: id });
    } else routed.push(e);
  }
  const { out, inn } = adjacency(routed);
  const step = dir === "up" ? inn : out;
  // Closure beyond id in that direction.
  const beyond = new Set<string>();
  const stack = [...(step.get(id) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (beyond.has(n) || n === id) continue;
    beyond.add(n);
    stack.push(...(step.get(n) ?? []));
  }
  beyond.delete(g.rootId);
  let remove = beyond;
  if (id !== g.rootId) {
    // Keep nodes that reach the root without passing through id.
    const keep = new Set<string>([g.rootId]);
    const st = [g.rootId];
    while (st.length) {
      const n = st.pop()!;
      for (const m of [...(out.get(n) ?? []), ...(inn.get(n) ?? [])]) {
        if (m === id || keep.has(m)) continue;
        keep.add(m);
        st.push(m);
      }
    }
    remove = new Set([...beyond].filter((n) => !keep.has(n)));
  }
  const nodes = new Map(g.nodes);
  for (const n of remove) nodes.delete(n);
  const edges = new Map([...g.edges].filter(([, e]) => nodes.has(e.from) && nodes.has(e.to)));
  // Drop anything left disconnected from the root.
  const { out: o2, inn: i2 } = adjacency(edges.values());
  const seen = new Set([g.rootId]);
  const st = [g.rootId];
  while (st.length) {
    const n = st.pop()!;
    for (const m of [...(o2.get(n) ?? []), ...(i2.get(n) ?? [])])
      if (!seen.has(m)) {
        seen.add(m);
        st.push(m);
      }
  }
  for (const n of [...nodes.keys()]) if (!seen.has(n)) nodes.delete(n);
  for (const [k, e] of edges) if (!nodes.has(e.from) || !nodes.has(e.to)) edges.delete(k);
  const expanded = new Map([...g.expanded].filter(([n]) => nodes.has(n)));
  const s = new Set(expanded.get(id) ?? []);
  s.delete(dir);
  expanded.set(id, s);
  return { ...g, nodes, edges, expanded };
}

// ---------------------------------------------------------------------------
// Columns

export interface ColumnRef {
  nodeId: string;
  name: string;
  fqn: string;
}

/** Maps a column FQN to its node by the longest node-FQN prefix. */
export function columnResolver(nodes: Map<string, GNode>) {
  const byFqn = new Map<string, string>();
  for (const [id, n] of nodes) if (n.ref.fullyQualifiedName) byFqn.set(n.ref.fullyQualifiedName, id);
  const cache = new Map<string, ColumnRef | null>();
  return (colFqn: string): ColumnRef | null => {
    if (cache.has(colFqn)) return cache.get(colFqn)!;
    let res: ColumnRef | null = null;
    for (let i = colFqn.length - 1; i > 0; i--) {
      if (colFqn[i] !== ".") continue;
      const id = byFqn.get(colFqn.slice(0, i));
      if (id) {
        res = { nodeId: id, name: colFqn.slice(i + 1), fqn: colFqn };
        break;
      }
    }
    cache.set(colFqn, res);
    return res;
  };
}

/** Column names per node as known from column lineage plus fetched details. */
export function knownColumns(
  g: GraphState,
  details: Map<string, AssetDetails>,
): Map<string, string[]> {
  const resolve = columnResolver(g.nodes);
  const cols = new Map<string, string[]>();
  const add = (nodeId: string, name: string) => {
    const l = cols.get(nodeId) ?? cols.set(nodeId, []).get(nodeId)!;
    if (!l.includes(name)) l.push(name);
  };
  for (const [id, d] of details) if (g.nodes.has(id)) for (const c of d.columns ?? []) add(id, c.name);
  for (const e of g.edges.values())
    for (const cl of e.details.columnsLineage ?? []) {
      for (const f of [...(cl.fromColumns ?? []), ...(cl.toColumn ? [cl.toColumn] : [])]) {
        const r = resolve(f);
        if (r) add(r.nodeId, r.name);
      }
    }
  return cols;
}

export interface ColumnTrace {
  columns: Set<string>; // column FQNs
  nodes: Set<string>;
  edges: Set<string>; // graph edge keys
  depth: Map<string, number>; // downstream depth of each column (0 = selected)
  upDepth: Map<string, number>; // upstream depth of each column (0 = selected)
}

/** Upstream and downstream columns of `colFqn` across all edges of the graph. */
export function traceColumn(g: GraphState, colFqn: string, dirs: ("up" | "down")[] = ["up", "down"]): ColumnTrace {
  const resolve = columnResolver(g.nodes);
  const down = new Map<string, { to: string; edge: string }[]>();
  const up = new Map<string, { to: string; edge: string }[]>();
  for (const e of g.edges.values())
    for (const cl of e.details.columnsLineage ?? []) {
      if (!cl.toColumn) continue;
      for (const f of cl.fromColumns ?? []) {
        (down.get(f) ?? down.set(f, []).get(f)!).push({ to: cl.toColumn, edge: e.key });
        (up.get(cl.toColumn) ?? up.set(cl.toColumn, []).get(cl.toColumn)!).push({ to: f, edge: e.key });
      }
    }
  const columns = new Set([colFqn]);
  const edges = new Set<string>();
  const depth = new Map([[colFqn, 0]]);
  const upDepth = new Map([[colFqn, 0]]);
  for (const dir of dirs) {
    const adj = dir === "up" ? up : down;
    let frontier = [colFqn];
    const seen = new Set([colFqn]);
    let d = 0;
    while (frontier.length) {
      d++;
      const next: string[] = [];
      for (const c of frontier)
        for (const { to, edge } of adj.get(c) ?? []) {
          edges.add(edge);
          columns.add(to);
          if (seen.has(to)) continue;
          seen.add(to);
          if (dir === "down" && !depth.has(to)) depth.set(to, d);
          if (dir === "up" && !upDepth.has(to)) upDepth.set(to, d);
          next.push(to);
        }
      frontier = next;
    }
  }
  const nodes = new Set<string>();
  for (const c of columns) {
    const r = resolve(c);
    if (r) nodes.add(r.nodeId);
  }
  return { columns, nodes, edges, depth, upDepth };
}

/** Downstream depth (BFS) of every node reachable from `id`. */
export function downstreamDepths(edges: Iterable<GEdge>, id: string): Map<string, number> {
  const { out } = adjacency(edges);
  const depth = new Map([[id, 0]]);
  let frontier = [id];
  let d = 0;
  while (frontier.length) {
    d++;
    const next: string[] = [];
    for (const n of frontier)
      for (const m of out.get(n) ?? [])
        if (!depth.has(m)) {
          depth.set(m, d);
          next.push(m);
        }
    frontier = next;
  }
  return depth;
}

/** Nodes upstream and downstream of `id` (for highlighting a node's path). */
export function tracePath(g: GraphState, id: string): { nodes: Set<string>; edges: Set<string> } {
  const { out, inn } = adjacency(g.edges.values());
  const nodes = new Set([id]);
  for (const adj of [out, inn]) {
    const st = [id];
    const seen = new Set([id]);
    while (st.length) {
      const n = st.pop()!;
      for (const m of adj.get(n) ?? [])
        if (!seen.has(m)) {
          seen.add(m);
          nodes.add(m);
          st.push(m);
        }
    }
  }
  const edges = new Set<string>();
  for (const e of g.edges.values()) if (nodes.has(e.from) && nodes.has(e.to)) edges.add(e.key);
  return { nodes, edges };
}

// ---------------------------------------------------------------------------
// Displayed graph

export const PROCESS_TYPES = new Set(["process", "columnProcess"]);

export interface ViewNode {
  id: string;
  ref: EntityReference;
  kind: "asset" | "pipeline";
}

export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  /** underlying lineage edges (for details and CSV) */
  edgeKeys: string[];
  via?: EntityReference[]; // pipelines/processes folded into this edge
}

/** The graph as drawn: pipeline/process nodes either shown or folded into edges. */
export function viewGraph(g: GraphState, showPipelines: boolean): { nodes: ViewNode[]; edges: ViewEdge[] } {
  const nodes = new Map<string, ViewNode>();
  for (const [id, n] of g.nodes) nodes.set(id, { id, ref: n.ref, kind: "asset" });
  const edges = new Map<string, ViewEdge>();
  const addEdge = (source: string, target: string, key: string, via?: EntityReference) => {
    const id = `${source}->${target}`;
    const e = edges.get(id) ?? { id, source, target, edgeKeys: [], via: [] };
    if (!e.edgeKeys.includes(key)) e.edgeKeys.push(key);
    if (via && !e.via!.some((v) => v.id === via.id)) e.via!.push(via);
    edges.set(id, e);
  };
  if (showPipelines) {
    for (const e of g.edges.values()) {
      const p = e.details.pipeline;
      if (p && p.id && p.id !== e.from && p.id !== e.to) {
        if (!nodes.has(p.id)) nodes.set(p.id, { id: p.id, ref: g.nodes.get(p.id)?.ref ?? p, kind: "pipeline" });
        addEdge(e.from, p.id, e.key);
        addEdge(p.id, e.to, e.key);
      } else addEdge(e.from, e.to, e.key);
    }
  } else {
    // Fold process nodes (A -> P -> B becomes A -> B via P), and pipeline refs into labels.
    const isProc = (id: string) => id !== g.rootId && PROCESS_TYPES.has(g.nodes.get(id)?.ref.type ?? "");
    const inn = new Map<string, GEdge[]>();
    const out = new Map<string, GEdge[]>();
    for (const e of g.edges.values()) {
      (inn.get(e.to) ?? inn.set(e.to, []).get(e.to)!).push(e);
      (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(e);
    }
    for (const e of g.edges.values()) {
      if (isProc(e.from) && (inn.get(e.from) ?? []).length) continue; // handled from the input side
      if (isProc(e.to)) {
        const p = g.nodes.get(e.to)!.ref;
        const outs = out.get(e.to) ?? [];
        for (const o of outs) if (!isProc(o.to)) addEdge(e.from, o.to, e.key, p), addEdge(e.from, o.to, o.key, p);
        if (!outs.length) addEdge(e.from, e.to, e.key); // dangling process: keep it visible
        continue;
      }
      addEdge(e.from, e.to, e.key, e.details.pipeline ?? undefined);
    }
    for (const id of [...nodes.keys()]) {
      if (!isProc(id)) continue;
      const hasIn = (inn.get(id) ?? []).length > 0;
      const hasOut = (out.get(id) ?? []).length > 0;
      if (hasIn && hasOut) nodes.delete(id);
    }
    for (const [k, e] of edges) if (!nodes.has(e.source) || !nodes.has(e.target)) edges.delete(k);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
