import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, getToken, onAuthRequired, setToken } from "./api";
import type { AssetDetails, AssetSummary, EntityReference, LineageDiff } from "./types";
import { label } from "./types";
import type { GraphState } from "./graph";
import { collapse, emptyGraph, knownColumns, markExpanded, mergeLineage, traceColumn } from "./graph";
import { download, downloadDataUrl, lineageCsv } from "./csv";
import { ActionsContext } from "./components/AssetNode";
import type { GraphActions } from "./components/AssetNode";
import { GraphView } from "./components/GraphView";
import type { GraphViewHandle, Selection } from "./components/GraphView";
import { SearchBox } from "./components/SearchBox";
import { SignIn } from "./components/SignIn";
import { EdgeDetails, ImpactView, NodeDetails, fmtInstant } from "./components/Panels";
import { RootCauseView } from "./components/RootCause";
import { AsOfControl, ChangesView, diffMarks } from "./components/Changes";
import { TypeIcon } from "./icons";
import { ColumnPaths } from "./components/Panels";

interface Route {
  type: string;
  id: string;
  up: number;
  down: number;
  limit: number;
  pipelines: boolean;
  /** Show the lineage as it stood at this instant (epoch ms); null = now. */
  asOf: number | null;
}

export const DEFAULTS = { up: 2, down: 2, limit: 1000 };
const MAX_DEPTH = 10;
/** In an as-of view, the details (hence "deleted since") of at most this many assets are read. */
const AS_OF_DETAILS = 100;
/** Asset types whose runs and powered edges the Changes panel can diff. */
const PIPELINE_TYPES = new Set(["pipeline", "process", "columnProcess", "storedProcedure"]);
/** The server's default maximum node limit (HEADWATER_NODE_LIMIT); impact lists want everything. */
const IMPACT_NODE_LIMIT = 5000;

export function parseRoute(): Route | null {
  const m = location.pathname.match(/^\/explore\/([^/]+)\/([^/]+)\/?$/);
  if (!m) return null;
  const q = new URLSearchParams(location.search);
  const num = (k: string, d: number) => {
    const v = parseInt(q.get(k) ?? "", 10);
    return Number.isFinite(v) && v >= 0 ? v : d;
  };
  return {
    type: decodeURIComponent(m[1]),
    id: decodeURIComponent(m[2]),
    up: num("up", DEFAULTS.up),
    down: num("down", DEFAULTS.down),
    limit: num("limit", DEFAULTS.limit) || DEFAULTS.limit,
    pipelines: q.get("pipelines") === "1",
    asOf: parseInstant(q.get("asOf")),
  };
}

/** `asOf` as in the API: epoch milliseconds or ISO-8601 (no offset = UTC). */
export function parseInstant(v: string | null): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v)) return parseInt(v, 10);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isFinite(ms) ? ms : null;
}

function routeUrl(r: Route): string {
  const q = new URLSearchParams({ up: String(r.up), down: String(r.down) });
  if (r.limit !== DEFAULTS.limit) q.set("limit", String(r.limit));
  if (r.pipelines) q.set("pipelines", "1");
  if (r.asOf) q.set("asOf", String(r.asOf));
  return `/explore/${encodeURIComponent(r.type)}/${encodeURIComponent(r.id)}?${q}`;
}

type PanelMode = "details" | "impact" | "rootcause" | "changes";

/** Placeholder while lineage loads: the graph canvas is mounted early so the first real render is faster. */
const NO_GRAPH: GraphState = { rootId: "", nodes: new Map(), edges: new Map(), truncated: false, expanded: new Map() };

export function App() {
  const [route, setRoute] = useState<Route | null>(parseRoute);
  const [needAuth, setNeedAuth] = useState(false);
  const hasToken = useMemo(() => !!getToken(), [needAuth]); // eslint-disable-line react-hooks/exhaustive-deps
  const [authEpoch, setAuthEpoch] = useState(0);
  const [version, setVersion] = useState<string>("");
  const [graph, setGraph] = useState<GraphState | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [details, setDetails] = useState<Map<string, AssetDetails>>(new Map());
  const [openColumns, setOpenColumns] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [selection, setSelection] = useState<Selection>(null);
  const [panel, setPanel] = useState<PanelMode>("details");
  const [impactTarget, setImpactTarget] = useState<{ ref: EntityReference; column: string | null } | null>(null);
  const [rcTarget, setRcTarget] = useState<EntityReference | null>(null);
  const [diffResult, setDiffResult] = useState<LineageDiff | null>(null);
  const pendingFocus = useRef<string | null>(null);
  const [rendered, setRendered] = useState<{ nodes: number; edges: number } | null>(null);
  const [exportOpen, setExportOpen] = useState(false);
  const [recent, setRecent] = useState<AssetSummary[] | null>(null);
  const graphRef = useRef<GraphViewHandle>(null);
  const detailsReq = useRef(new Set<string>());
  const rootRef = useRef<string | null>(null);

  useEffect(() => {
    onAuthRequired(() => setNeedAuth(true));
    api.version().then((v) => setVersion(v.version), () => undefined);
    const onPop = () => setRoute(parseRoute());
    window.addEventListener("popstate", onPop);
    return () => {
      onAuthRequired(null);
      window.removeEventListener("popstate", onPop);
    };
  }, []);

  const navigate = useCallback((r: Route, replace = false) => {
    const url = routeUrl(r);
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    setRoute(r);
  }, []);

  const openAsset = useCallback(
    (a: EntityReference) =>
      navigate({
        type: a.type,
        id: a.id,
        up: route?.up ?? DEFAULTS.up,
        down: route?.down ?? DEFAULTS.down,
        limit: route?.limit ?? DEFAULTS.limit,
        pipelines: route?.pipelines ?? false,
        asOf: route?.asOf ?? null,
      }),
    [navigate, route],
  );

  const fetchDetails = useCallback((ids: string[]) => {
    for (const id of ids) {
      if (detailsReq.current.has(id)) continue;
      detailsReq.current.add(id);
      api.asset(id).then(
        (d) => setDetails((m) => new Map(m).set(id, d)),
        () => undefined,
      );
    }
  }, []);

  // Load the lineage of the routed asset.
  const loadKey = route
    ? `${route.type}/${route.id}/${route.up}/${route.down}/${route.limit}/${route.asOf ?? ""}/${authEpoch}`
    : "";
  useEffect(() => {
    if (!route) {
      setGraph(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    setRendered(null);
    document.documentElement.dataset.graphState = "loading";
    performance.mark("hw:lineage-request");
    api
      .lineage(route.type, route.id, {
        upstreamDepth: route.up,
        downstreamDepth: route.down,
        nodeLimit: route.limit,
        asOf: route.asOf,
      })
      .then(
        (lin) => {
          if (cancelled) return;
          performance.mark("hw:lineage-response");
          const g = mergeLineage(emptyGraph(lin.entity), lin);
          if (rootRef.current !== lin.entity.id) {
            rootRef.current = lin.entity.id;
            setOpenColumns(new Set());
            setSelection(null);
            setPanel("details");
            setImpactTarget(null);
            setRcTarget(null);
            setDiffResult(null);
          }
          setGraph(g);
          fetchDetails([lin.entity.id]);
        },
        (e: Error) => {
          if (cancelled) return;
          setError(
            e instanceof ApiError && e.status === 401
              ? "Sign in to see lineage."
              : e instanceof ApiError && e.status === 404 && route.asOf
                ? `This asset did not exist at ${fmtInstant(route.asOf)}: ${e.message}`
                : e.message,
          );
          setGraph(null);
          document.documentElement.dataset.graphState = "error";
        },
      )
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loadKey]);

  // Landing page: list some assets.
  useEffect(() => {
    if (route) return;
    api.search("", "", 30).then(
      (r) => setRecent(r.data ?? []),
      () => setRecent([]),
    );
  }, [route, authEpoch]);


  const columns = useMemo(() => (graph ? knownColumns(graph, details) : new Map<string, string[]>()), [graph, details]);

  const trace = useMemo(
    () => (graph && selection?.kind === "column" ? traceColumn(graph, selection.fqn) : null),
    [graph, selection],
  );

  // Open the column lists of every table on a highlighted column path.
  useEffect(() => {
    if (!trace) return;
    setOpenColumns((s) => {
      const missing = [...trace.nodes].filter((n) => !s.has(n));
      if (!missing.length) return s;
      fetchDetails(missing);
      return new Set([...s, ...missing]);
    });
  }, [trace, fetchDetails]);

  const setBusyFlag = (id: string, on: boolean) =>
    setBusy((b) => {
      const n = new Set(b);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  const actions: GraphActions = useMemo(
    () => ({
      expand(id, type, dir) {
        setBusyFlag(id, true);
        api
          .lineage(type, id, {
            upstreamDepth: dir === "up" ? 1 : 0,
            downstreamDepth: dir === "down" ? 1 : 0,
            nodeLimit: route?.limit,
            asOf: route?.asOf,
          })
          .then(
            (lin) => setGraph((g) => (g ? markExpanded(mergeLineage(g, lin), id, dir, true) : g)),
            (e: Error) => setError(`Expanding failed: ${e.message}`),
          )
          .finally(() => setBusyFlag(id, false));
      },
      collapse(id, dir) {
        setGraph((g) => (g ? collapse(g, id, dir) : g));
      },
      toggleColumns(id) {
        setOpenColumns((s) => {
          const n = new Set(s);
          if (n.has(id)) n.delete(id);
          else {
            n.add(id);
            fetchDetails([id]);
          }
          return n;
        });
      },
      selectColumn(fqn) {
        setSelection({ kind: "column", fqn });
        setPanel("details");
      },
    }),
    [route?.limit, route?.asOf, fetchDetails],
  );

  const onSelect = useCallback(
    (s: Selection) => {
      setSelection(s);
      if (s?.kind === "node") {
        fetchDetails([s.id]);
        setPanel("details");
      }
      if (s?.kind === "edge") setPanel("details");
    },
    [fetchDetails],
  );

  const onRendered = useCallback((nodes: number, edges: number) => {
    setRendered({ nodes, edges });
    if (document.documentElement.dataset.graphState !== "rendered") {
      performance.mark("hw:graph-rendered");
      document.documentElement.dataset.graphState = "rendered";
    }
  }, []);

  const setRouteParam = (patch: Partial<Route>) => route && navigate({ ...route, ...patch }, true);

  const doExport = async (kind: "csv" | "png" | "svg") => {
    setExportOpen(false);
    if (!graph) return;
    const root = graph.nodes.get(graph.rootId)?.ref;
    const asOfPart = route?.asOf ? `-asof-${new Date(route.asOf).toISOString().replace(/[:.]/g, "")}` : "";
    const base = `lineage-${(root?.fullyQualifiedName ?? graph.rootId).replace(/[^\w.-]+/g, "_")}${asOfPart}`;
    if (kind === "csv") return download(`${base}.csv`, lineageCsv(graph));
    try {
      const url = await graphRef.current!.exportImage(kind);
      downloadDataUrl(`${base}.${kind}`, url);
    } catch (e) {
      setError(`Image export failed: ${(e as Error).message}`);
    }
  };

  const selectedNode =
    selection?.kind === "node" && graph
      ? (graph.nodes.get(selection.id)?.ref ??
        [...graph.edges.values()].find((e) => e.details.pipeline?.id === selection.id)?.details.pipeline ??
        null)
      : null;
  const root = graph?.nodes.get(graph.rootId)?.ref ?? null;
  /** The node whose details the panel shows: the selected node, else the root (when nothing else is selected). */
  const panelNode = selection?.kind === "node" ? selectedNode : selection ? null : root;

  const startImpact = (ref: EntityReference, column: string | null) => {
    setImpactTarget({ ref, column });
    setPanel("impact");
  };

  const startRootCause = (ref: EntityReference) => {
    setRcTarget(ref);
    setPanel("rootcause");
  };

  /** Select a node and bring it into view; a node not in the graph yet is loaded by deepening upstream. */
  const focusNode = (id: string, upstreamDepth?: number) => {
    if (graph?.nodes.has(id)) {
      setSelection({ kind: "node", id });
      fetchDetails([id]);
      graphRef.current?.focus(id);
      return;
    }
    if (route && upstreamDepth !== undefined && upstreamDepth > route.up && upstreamDepth <= MAX_DEPTH) {
      pendingFocus.current = id;
      setRouteParam({ up: upstreamDepth });
    }
  };

  // A node asked for before it was loaded: select it once the deeper graph is drawn.
  useEffect(() => {
    const id = pendingFocus.current;
    if (!id || !rendered || !graph?.nodes.has(id)) return;
    pendingFocus.current = null;
    setSelection({ kind: "node", id });
    fetchDetails([id]);
    graphRef.current?.focus(id);
  }, [rendered, graph, fetchDetails]);

  // As of a past instant: look up the assets in view (bounded) to mark those deleted since.
  useEffect(() => {
    if (route?.asOf && graph) fetchDetails([...graph.nodes.keys()].slice(0, AS_OF_DETAILS));
  }, [route?.asOf, graph, fetchDetails]);

  const marks = useMemo(() => (panel === "changes" && diffResult ? diffMarks(diffResult) : null), [panel, diffResult]);

  const columnNode = useMemo(() => {
    if (!graph || selection?.kind !== "column") return null;
    return trace && [...trace.nodes].map((n) => graph.nodes.get(n)?.ref).find((r) => r && selection.fqn.startsWith(`${r.fullyQualifiedName}.`)) || null;
  }, [graph, selection, trace]);

  return (
    <ActionsContext.Provider value={actions}>
      <div className="hw-app">
        <header className="hw-header">
          <a
            className="hw-logo"
            href="/"
            onClick={(e) => {
              e.preventDefault();
              history.pushState(null, "", "/");
              setRoute(null);
            }}
          >
            <img src="/assets/favicon.svg" alt="" width={22} height={22} /> headwater
          </a>
          <SearchBox onOpen={openAsset} />
          {route && (
            <div className="hw-controls">
              <label title="Upstream depth">
                ◀ up
                <select
                  data-testid="upstream-depth"
                  value={route.up}
                  onChange={(e) => setRouteParam({ up: +e.target.value })}
                >
                  {Array.from({ length: MAX_DEPTH + 1 }, (_, i) => (
                    <option key={i}>{i}</option>
                  ))}
                </select>
              </label>
              <label title="Downstream depth">
                down ▶
                <select
                  data-testid="downstream-depth"
                  value={route.down}
                  onChange={(e) => setRouteParam({ down: +e.target.value })}
                >
                  {Array.from({ length: MAX_DEPTH + 1 }, (_, i) => (
                    <option key={i}>{i}</option>
                  ))}
                </select>
              </label>
              <label title="Most nodes to load; the server cuts the graph beyond it">
                limit
                <select
                  data-testid="node-limit"
                  value={route.limit}
                  onChange={(e) => setRouteParam({ limit: +e.target.value })}
                >
                  {[...new Set([100, 250, 500, 1000, 2000, 5000, route.limit])]
                    .sort((a, b) => a - b)
                    .map((n) => (
                      <option key={n} value={n}>
                        {n}
                      </option>
                    ))}
                </select>
              </label>
              <label title="Show pipelines/processes as nodes instead of folding them into edges">
                <input
                  type="checkbox"
                  data-testid="show-pipelines"
                  checked={route.pipelines}
                  onChange={(e) => setRouteParam({ pipelines: e.target.checked })}
                />
                pipelines as nodes
              </label>
              <AsOfControl asOf={route.asOf} onChange={(asOf) => setRouteParam({ asOf })} />
              <div className="hw-menu">
                <button onClick={() => setExportOpen((o) => !o)} data-testid="export-menu" disabled={!graph}>
                  Export ▾
                </button>
                {exportOpen && (
                  <div className="hw-menu-list">
                    <button onClick={() => doExport("csv")} data-testid="export-csv">
                      CSV (lineage edges)
                    </button>
                    <button onClick={() => doExport("png")} data-testid="export-png">
                      PNG image
                    </button>
                    <button onClick={() => doExport("svg")} data-testid="export-svg">
                      SVG image
                    </button>
                  </div>
                )}
              </div>
            </div>
          )}
          <div className="hw-spacer" />
          {version && <span className="hw-muted hw-small">v{version}</span>}
          {hasToken ? (
            <button
              className="hw-link"
              data-testid="signout"
              onClick={() => {
                setToken(null);
                setNeedAuth(true);
              }}
            >
              Sign out
            </button>
          ) : (
            <button className="hw-link" onClick={() => setNeedAuth(true)} data-testid="signin-open">
              Sign in
            </button>
          )}
        </header>

        {route?.asOf && (
          <div className="hw-banner hw-banner-asof" data-testid="asof-banner">
            <b>Lineage as of {fmtInstant(route.asOf)}</b>: edges, column mappings and assets as they stood then
            (assets deleted since are shown; details and runs are current).{" "}
            <button className="hw-link" data-testid="asof-now" onClick={() => setRouteParam({ asOf: null })}>
              Back to now
            </button>
          </div>
        )}
        {graph?.truncated && (
          <div className="hw-banner" data-testid="truncated-banner">
            The graph was cut at the node limit ({route?.limit} nodes). Lower the depth, expand nodes one hop at a time
            with their + buttons, or{" "}
            <button className="hw-link" onClick={() => setRouteParam({ limit: (route?.limit ?? 1000) * 2 })}>
              load with a limit of {(route?.limit ?? 1000) * 2}
            </button>
            .
          </div>
        )}
        {error && (
          <div className="hw-banner hw-banner-error" data-testid="error-banner">
            {error}{" "}
            <button className="hw-link" onClick={() => setError(null)}>
              dismiss
            </button>
          </div>
        )}

        <main className="hw-main">
          {!route && (
            <div className="hw-landing">
              <h1>Lineage explorer</h1>
              <p>Search an asset above, or pick one:</p>
              <ul className="hw-asset-list" data-testid="asset-list">
                {(recent ?? []).map((a) => (
                  <li key={a.id}>
                    <a
                      href={routeUrl({ type: a.type, id: a.id, ...DEFAULTS, pipelines: false, asOf: null })}
                      onClick={(e) => {
                        e.preventDefault();
                        openAsset(a);
                      }}
                    >
                      <TypeIcon type={a.type} /> {label(a)} <span className="hw-muted hw-small">{a.fullyQualifiedName}</span>
                    </a>
                  </li>
                ))}
                {recent && recent.length === 0 && <li className="hw-muted">No assets yet.</li>}
              </ul>
            </div>
          )}
          {route && (
            <>
              <section className="hw-graph-wrap">
                {loading && <div className="hw-loading">Loading lineage…</div>}
                {(
                  <GraphView
                    ref={graphRef}
                    graph={graph ?? NO_GRAPH}
                    details={details}
                    columns={columns}
                    openColumns={openColumns}
                    showPipelines={route.pipelines}
                    busy={busy}
                    selection={selection}
                    trace={trace}
                    onSelect={onSelect}
                    onRendered={onRendered}
                    diff={marks}
                    asOf={route.asOf}
                  />
                )}
                {rendered && (
                  <div className="hw-stats" data-testid="graph-stats">
                    {rendered.nodes} nodes · {graph?.edges.size ?? 0} edges
                  </div>
                )}
              </section>
              <aside className="hw-panel">
                <div className="hw-tabs">
                  <button className={panel === "details" ? "active" : ""} onClick={() => setPanel("details")}>
                    Details
                  </button>
                  <button
                    className={panel === "impact" ? "active" : ""}
                    data-testid="impact-tab"
                    onClick={() => {
                      if (!impactTarget || panel === "impact") {
                        const ref = selectedNode ?? columnNode ?? root;
                        if (ref) startImpact(ref, selection?.kind === "column" ? selection.fqn : null);
                      }
                      setPanel("impact");
                    }}
                  >
                    Impact
                  </button>
                  <button
                    className={panel === "rootcause" ? "active" : ""}
                    data-testid="rootcause-tab"
                    onClick={() => {
                      if (!rcTarget || panel === "rootcause") {
                        const ref = selectedNode ?? columnNode ?? root;
                        if (ref) startRootCause(ref);
                      }
                      setPanel("rootcause");
                    }}
                  >
                    Root cause
                  </button>
                  <button
                    className={panel === "changes" ? "active" : ""}
                    data-testid="changes-tab"
                    onClick={() => setPanel("changes")}
                  >
                    Changes
                  </button>
                </div>
                {panel === "details" && graph && (
                  <>
                    {selection?.kind === "edge" && <EdgeDetails
                        graph={graph}
                        edgeKeys={selection.edgeKeys}
                        asOf={route.asOf}
                        onRunChanges={(job) => {
                          setSelection({ kind: "node", id: job.id });
                          setPanel("changes");
                        }}
                      />}
                    {selection?.kind === "column" && (
                      <div className="hw-panel-body" data-testid="column-details">
                        <div className="hw-panel-title">
                          <TypeIcon type="column" size={22} />
                          <div>
                            <h3>{selection.fqn.split(".").pop()}</h3>
                            <code className="hw-wrap hw-small">{selection.fqn}</code>
                          </div>
                        </div>
                        <p className="hw-muted">
                          {trace ? trace.columns.size - 1 : 0} related columns highlighted across {trace?.nodes.size ?? 0}{" "}
                          assets.
                        </p>
                        {trace && <ColumnPaths trace={trace} graph={graph} onSelect={actions.selectColumn} />}
                        <div className="hw-actions">
                          {columnNode && (
                            <button onClick={() => startImpact(columnNode, selection.fqn)} data-testid="impact-column">
                              Column impact
                            </button>
                          )}
                          <button onClick={() => setSelection(null)}>Clear highlight</button>
                        </div>
                      </div>
                    )}
                    {panelNode && (
                      <NodeDetails
                        node={panelNode}
                        details={details.get(panelNode.id)}
                        isRoot={panelNode.id === graph.rootId}
                        onOpen={openAsset}
                        onImpact={() => startImpact(panelNode, null)}
                        onRootCause={() => startRootCause(panelNode)}
                        asOf={route.asOf}
                        onColumn={(fqn) => actions.selectColumn(fqn)}
                        selectedColumn={null}
                      />
                    )}
                  </>
                )}
                {panel === "impact" && impactTarget && (
                  <ImpactView
                    target={impactTarget.ref}
                    column={impactTarget.column}
                    nodeLimit={IMPACT_NODE_LIMIT}
                    asOf={route.asOf}
                  />
                )}
                {panel === "rootcause" && rcTarget && (
                  <RootCauseView
                    target={rcTarget}
                    asOf={route.asOf}
                    inGraph={(id) => !!graph?.nodes.has(id)}
                    selectedId={selection?.kind === "node" ? selection.id : null}
                    onFocus={focusNode}
                    onOpen={openAsset}
                  />
                )}
                {panel === "changes" && (
                  <ChangesView
                    pipeline={selectedNode && PIPELINE_TYPES.has(selectedNode.type) ? selectedNode : null}
                    asOf={route.asOf}
                    result={diffResult}
                    onResult={setDiffResult}
                    inView={(from, to) => !!graph?.nodes.has(from) && !!graph?.nodes.has(to)}
                    onFocus={(id) => focusNode(id)}
                  />
                )}
              </aside>
            </>
          )}
        </main>
        {needAuth && (
          <SignIn
            onDone={() => {
              setNeedAuth(false);
              setError(null);
              setAuthEpoch((e) => e + 1);
            }}
          />
        )}
      </div>
    </ActionsContext.Provider>
  );
}
