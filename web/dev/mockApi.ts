// Dev-only mock of the headwater API (used by `npm run dev` when HEADWATER_URL is unset).
// Never part of the build.
import type { Plugin } from "vite";

interface Asset {
  id: string;
  type: string;
  name: string;
  fullyQualifiedName: string;
  columns: string[];
}
interface MEdge {
  fromEntity: string;
  toEntity: string;
  lineageDetails: Record<string, unknown>;
}

function build() {
  const assets = new Map<string, Asset>();
  const edges: MEdge[] = [];
  let n = 0;
  const add = (type: string, fqn: string, columns: string[] = []) => {
    const id = `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
    const a = { id, type, name: fqn.split(".").pop()!, fullyQualifiedName: fqn, columns };
    assets.set(id, a);
    return a;
  };
  const etl = add("pipeline", "airflow.nightly_etl");
  const raw = add("table", "pg.shop.public.raw_orders", ["id", "customer_id", "amount", "created_at"]);
  const cust = add("table", "pg.shop.public.raw_customers", ["id", "name", "email"]);
  const stg = add("table", "pg.shop.staging.orders", ["order_id", "customer_id", "amount"]);
  const mart = add("table", "pg.shop.mart.revenue", ["customer_name", "total"]);
  const dash = add("dashboard", "superset.revenue_dashboard");
  const topic = add("topic", "kafka.orders_events", ["id", "amount"]);
  const link = (a: Asset, b: Asset, sql: string, cols: [string[], string][], pipeline?: Asset) =>
    edges.push({
      fromEntity: a.id,
      toEntity: b.id,
      lineageDetails: {
        sqlQuery: sql,
        columnsLineage: cols.map(([f, t]) => ({
          fromColumns: f.map((c) => `${a.fullyQualifiedName}.${c}`),
          toColumn: `${b.fullyQualifiedName}.${t}`,
        })),
        pipeline: pipeline ? { id: pipeline.id, type: pipeline.type, name: pipeline.name, fullyQualifiedName: pipeline.fullyQualifiedName } : null,
        source: "QueryLineage",
        createdAt: Date.now() - 86400000,
        updatedAt: Date.now(),
        createdBy: "ingestion-bot",
        updatedBy: "ingestion-bot",
      },
    });
  link(topic, raw, "", [[["id"], "id"], [["amount"], "amount"]]);
  link(raw, stg, "insert into staging.orders select id as order_id, customer_id, amount from public.raw_orders", [[["id"], "order_id"], [["customer_id"], "customer_id"], [["amount"], "amount"]], etl);
  link(stg, mart, "insert into mart.revenue select c.name, sum(o.amount) from staging.orders o join public.raw_customers c on c.id = o.customer_id group by 1", [[["amount"], "total"]], etl);
  link(cust, mart, "insert into mart.revenue select c.name, sum(o.amount) from staging.orders o join public.raw_customers c on c.id = o.customer_id group by 1", [[["name"], "customer_name"]], etl);
  link(mart, dash, "", []);
  // A wide synthetic fan for large-graph checks: bench.hub -> 600 tables.
  const hub = add("table", "bench.db.s.hub", ["k"]);
  for (let i = 0; i < 600; i++) {
    const t = add("table", `bench.db.s.t${i}`, ["k"]);
    const parent = i < 20 ? hub : [...assets.values()][assets.size - 1 - ((i % 20) + 1)];
    link(parent, t, `insert into t${i} select k from parent`, [[["k"], "k"]]);
  }
  return { assets, edges };
}

const ref = (a: Asset) => ({ id: a.id, type: a.type, name: a.name, fullyQualifiedName: a.fullyQualifiedName, displayName: a.name, deleted: false, href: `/api/v1/headwater/assets/${a.id}` });

export function mockApi(): Plugin {
  const { assets, edges } = build();
  return {
    name: "headwater-mock-api",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const send = (code: number, body: unknown) => {
          res.statusCode = code;
          res.setHeader("Content-Type", "application/json");
          res.end(JSON.stringify(body));
        };
        const p = url.pathname;
        if (p === "/api/v1/system/version") return send(200, { version: "1.12.0-mock", revision: "dev" });
        if (p === "/api/v1/headwater/assets") {
          const q = (url.searchParams.get("q") ?? "").toLowerCase();
          const type = url.searchParams.get("type");
          const hits = [...assets.values()].filter((a) => a.fullyQualifiedName.toLowerCase().includes(q) && (!type || a.type === type));
          const limit = +(url.searchParams.get("limit") ?? 20);
          return send(200, { data: hits.slice(0, limit).map((a) => ({ ...ref(a), owner: "data-eng", partial: false })), total: hits.length });
        }
        let m = p.match(/^\/api\/v1\/headwater\/assets\/([^/]+)$/);
        if (m) {
          const a = assets.get(m[1]);
          if (!a) return send(404, { code: 404, message: "not found" });
          return send(200, { ...ref(a), owner: "data-eng", partial: false, columns: a.columns.map((c) => ({ name: c, fullyQualifiedName: `${a.fullyQualifiedName}.${c}`, dataType: "VARCHAR" })), attributes: {}, tags: [], parent: null });
        }
        // Analysis: just enough to draw the Root cause, Changes and propagation views.
        if (p === "/api/v1/analysis/propagation/origins") return send(200, { entity: {}, tags: {} });
        if (p === "/api/v1/analysis/rootCause") {
          const root = assets.get(url.searchParams.get("id") ?? "");
          if (!root) return send(404, { code: 404, message: "not found" });
          const depth = new Map([[root.id, 0]]);
          let frontier = [root.id];
          for (let d = 1; d <= 10 && frontier.length; d++) {
            const next: string[] = [];
            for (const e of edges)
              if (frontier.includes(e.toEntity) && !depth.has(e.fromEntity)) {
                depth.set(e.fromEntity, d);
                next.push(e.fromEntity);
              }
            frontier = next;
          }
          const now = Date.now();
          const items = [...depth]
            .filter(([id]) => id !== root.id)
            .map(([id, d], i) => {
              const a = assets.get(id)!;
              const failed = i === 0;
              return {
                ...ref(a), depth: d, path: [a.fullyQualifiedName, root.fullyQualifiedName], owners: ["data-eng"],
                suspicion: failed ? "run_failed" : "ok", reasons: failed ? [{ kind: "run_failed", at: now - 600_000 }] : [], edges: [],
                runs: [{ runId: `run-${i}`, pipeline: { type: "pipeline", name: `load_${a.name}`, fullyQualifiedName: `airflow.load_${a.name}` },
                  state: failed ? "FAIL" : "COMPLETE", startedAt: now - 660_000, endedAt: now - 600_000, errorMessage: failed ? "mock failure" : null, late: false }],
              };
            });
          return send(200, { entity: ref(root), items, pipelines: items.map((it) => it.runs[0]), truncated: false, evaluatedAt: now });
        }
        if (p === "/api/v1/analysis/diff") {
          const pick = (e: MEdge) => ({ fromEntity: ref(assets.get(e.fromEntity)!), toEntity: ref(assets.get(e.toEntity)!) });
          const [a, b] = edges;
          return send(200, {
            from: +(url.searchParams.get("from") ?? 0), to: +(url.searchParams.get("to") ?? Date.now()), pipeline: null, runs: [],
            summary: { edgesAdded: 1, edgesRemoved: 0, edgesChanged: 1, edgesTransient: 0, columnsAdded: 0, columnsRemoved: 0, columnsChanged: 0, assetsChanged: 0 },
            edges: { added: a ? [{ ...pick(a), after: {} }] : [], removed: [], changed: b ? [{ ...pick(b), fields: ["sqlQuery"], before: {}, after: {} }] : [] },
            columns: { added: [], removed: [], changed: [] }, assets: [],
          });
        }
        m = p.match(/^\/api\/v1\/lineage\/([^/]+)\/([^/]+)$/);
        if (m) {
          const root = assets.get(m[2]);
          if (!root) return send(404, { code: 404, message: "not found" });
          const up = +(url.searchParams.get("upstreamDepth") ?? 1);
          const down = +(url.searchParams.get("downstreamDepth") ?? 1);
          const limit = +(url.searchParams.get("nodeLimit") ?? 1000);
          const nodes = new Set<string>();
          let truncated = false;
          const walk = (dir: "up" | "down", depth: number) => {
            const out: MEdge[] = [];
            let frontier = [root.id];
            const seen = new Set([root.id]);
            for (let d = 0; d < depth && frontier.length; d++) {
              const next: string[] = [];
              for (const id of frontier)
                for (const e of edges) {
                  const [a, b] = dir === "down" ? [e.fromEntity, e.toEntity] : [e.toEntity, e.fromEntity];
                  if (a !== id) continue;
                  if (!nodes.has(b) && nodes.size >= limit) { truncated = true; continue; }
                  out.push(e);
                  nodes.add(b);
                  if (!seen.has(b)) { seen.add(b); next.push(b); }
                }
              frontier = next;
            }
            return out;
          };
          const upstreamEdges = walk("up", up);
          const downstreamEdges = walk("down", down);
          nodes.delete(root.id);
          return send(200, { entity: ref(root), nodes: [...nodes].map((id) => ref(assets.get(id)!)), upstreamEdges, downstreamEdges, truncated });
        }
        next();
      });
    },
  };
}
