// A small Sugiyama-style layered layout for large graphs, where ELK would take seconds:
// longest-path layering (cycles broken by DFS), barycenter ordering sweeps, then each
// layer stacked and nudged toward its neighbours. Linear-ish in nodes + edges.
import type { LayoutEdge, LayoutNode } from "./layout";

export interface FastLayoutOptions {
  layerGap?: number; // horizontal gap between layers
  nodeGap?: number; // vertical gap between nodes of a layer
  sweeps?: number;
}

export function fastLayout(
  nodes: LayoutNode[],
  edges: LayoutEdge[],
  opts: FastLayoutOptions = {},
): Map<string, { x: number; y: number }> {
  const layerGap = opts.layerGap ?? 90;
  const nodeGap = opts.nodeGap ?? 22;
  const sweeps = opts.sweeps ?? 6;
  const idx = new Map(nodes.map((n, i) => [n.id, i]));
  const N = nodes.length;
  const out: number[][] = Array.from({ length: N }, () => []);
  const inn: number[][] = Array.from({ length: N }, () => []);
  for (const e of edges) {
    const s = idx.get(e.source);
    const t = idx.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    out[s].push(t);
    inn[t].push(s);
  }

  // 1. Break cycles: drop DFS back edges (iterative DFS).
  const state = new Uint8Array(N); // 0 new, 1 on stack, 2 done
  const dag: number[][] = Array.from({ length: N }, () => []);
  for (let r = 0; r < N; r++) {
    if (state[r]) continue;
    const stack: [number, number][] = [[r, 0]];
    state[r] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < out[v].length) {
        top[1]++;
        const w = out[v][i];
        if (state[w] === 0) {
          dag[v].push(w);
          state[w] = 1;
          stack.push([w, 0]);
        } else if (state[w] === 2) dag[v].push(w);
        // state 1: back edge, dropped
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  const dagIn: number[][] = Array.from({ length: N }, () => []);
  for (let v = 0; v < N; v++) for (const w of dag[v]) dagIn[w].push(v);

  // 2. Longest-path layering (Kahn order).
  const layer = new Int32Array(N);
  const deg = dagIn.map((l) => l.length);
  const queue: number[] = [];
  for (let v = 0; v < N; v++) if (deg[v] === 0) queue.push(v);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi];
    for (const w of dag[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--deg[w] === 0) queue.push(w);
    }
  }
  // Pull sources right, next to their first consumer (keeps upstream branches compact).
  for (let qi = queue.length - 1; qi >= 0; qi--) {
    const v = queue[qi];
    if (dagIn[v].length === 0 && dag[v].length) layer[v] = Math.min(...dag[v].map((w) => layer[w])) - 1;
  }
  let maxLayer = 0;
  for (let v = 0; v < N; v++) maxLayer = Math.max(maxLayer, layer[v]);
  const layers: number[][] = Array.from({ length: maxLayer + 1 }, () => []);
  for (const v of queue) layers[layer[v]].push(v); // BFS order as the initial order

  // 3. Barycenter sweeps.
  const pos = new Float64Array(N);
  const setPos = () => layers.forEach((l) => l.forEach((v, i) => (pos[v] = i)));
  setPos();
  const sortBy = (l: number[], nb: number[][]) => {
    const key = new Map<number, number>();
    for (const v of l) {
      const ns = nb[v];
      key.set(v, ns.length ? ns.reduce((a, w) => a + pos[w], 0) / ns.length : pos[v]);
    }
    l.sort((a, b) => key.get(a)! - key.get(b)!);
    l.forEach((v, i) => (pos[v] = i));
  };
  for (let s = 0; s < sweeps; s++) {
    if (s % 2 === 0) for (let li = 1; li < layers.length; li++) sortBy(layers[li], inn);
    else for (let li = layers.length - 2; li >= 0; li--) sortBy(layers[li], out);
  }

  // 4. Coordinates: x by layer; y stacked, then shifted toward neighbours without overlaps.
  const width = nodes.reduce((m, n) => Math.max(m, n.width), 0);
  const y = new Float64Array(N);
  const h = nodes.map((n) => n.height);
  for (const l of layers) {
    let acc = 0;
    for (const v of l) {
      y[v] = acc;
      acc += h[v] + nodeGap;
    }
    const shift = (acc - nodeGap) / 2;
    for (const v of l) y[v] -= shift;
  }
  const center = (v: number) => y[v] + h[v] / 2;
  for (let pass = 0; pass < 4; pass++) {
    const order = pass % 2 === 0 ? layers : [...layers].reverse();
    for (const l of order) {
      const nb = pass % 2 === 0 ? inn : out;
      // desired centres
      const want = l.map((v) => {
        const ns = nb[v].length ? nb[v] : pass % 2 === 0 ? out[v] : inn[v];
        return ns.length ? ns.reduce((a, w) => a + center(w), 0) / ns.length - h[v] / 2 : y[v];
      });
      // place top-down keeping order and gaps
      let minY = -Infinity;
      for (let i = 0; i < l.length; i++) {
        const v = l[i];
        y[v] = Math.max(want[i], minY);
        minY = y[v] + h[v] + nodeGap;
      }
      // pull back up where the bottom overshoots its wish (balance)
      let maxY = Infinity;
      for (let i = l.length - 1; i >= 0; i--) {
        const v = l[i];
        y[v] = Math.min(y[v], maxY - h[v]);
        maxY = y[v] - nodeGap;
      }
    }
  }
  const res = new Map<string, { x: number; y: number }>();
  for (let v = 0; v < N; v++) res.set(nodes[v].id, { x: layer[v] * (width + layerGap), y: y[v] });
  return res;
}
