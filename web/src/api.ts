import type {
  AssetDetails,
  EntityLineage,
  LineageDiff,
  MarquezRun,
  PropagationOrigins,
  RootCause,
  SearchResult,
} from "./types";

const TOKEN_KEY = "headwater.token";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

type AuthListener = () => void;
let authListener: AuthListener | null = null;

/** Called whenever the server answers 401/403, so the app can show the sign-in form. */
export function onAuthRequired(l: AuthListener | null): void {
  authListener = l;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: token lives only in memory for this page */
  }
}

async function request(path: string, accept = "application/json"): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.message === "string") message = body.message;
    } catch {
      /* non-JSON error body */
    }
    if ((res.status === 401 || res.status === 403) && authListener) authListener();
    throw new ApiError(res.status, message);
  }
  return res;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await request(path);
  return (await res.json()) as T;
}

/** Requests started before React mounted (see main.tsx), taken once by the first caller. */
const prefetched = new Map<string, Promise<unknown>>();

export function prefetch(path: string): void {
  const p = getJson(path);
  p.catch(() => undefined); // the real caller sees the error
  prefetched.set(path, p);
}

function getJsonOnce<T>(path: string): Promise<T> {
  const p = prefetched.get(path);
  if (p) {
    prefetched.delete(path);
    return p as Promise<T>;
  }
  return getJson<T>(path);
}

export interface LineageQuery {
  upstreamDepth: number;
  downstreamDepth: number;
  nodeLimit?: number;
  /** Read the graph as it stood at this instant (epoch ms); absent = now. */
  asOf?: number | null;
}

function lineageParams(q: LineageQuery): string {
  const p = new URLSearchParams({
    upstreamDepth: String(q.upstreamDepth),
    downstreamDepth: String(q.downstreamDepth),
  });
  if (q.nodeLimit) p.set("nodeLimit", String(q.nodeLimit));
  if (q.asOf) p.set("asOf", String(q.asOf));
  return p.toString();
}

export const api = {
  version: () => getJson<{ version: string; revision?: string }>("/api/v1/system/version"),
  search: (q: string, type: string, limit = 20, offset = 0) => {
    const p = new URLSearchParams({ q, limit: String(limit), offset: String(offset) });
    if (type) p.set("type", type);
    return getJson<SearchResult>(`/api/v1/headwater/assets?${p}`);
  },
  asset: (id: string) => getJson<AssetDetails>(`/api/v1/headwater/assets/${encodeURIComponent(id)}`),
  lineage: (type: string, id: string, q: LineageQuery) =>
    getJsonOnce<EntityLineage>(
      `/api/v1/lineage/${encodeURIComponent(type)}/${encodeURIComponent(id)}?${lineageParams(q)}`,
    ),
  lineageByName: (type: string, fqn: string, q: LineageQuery) =>
    getJson<EntityLineage>(
      `/api/v1/lineage/${encodeURIComponent(type)}/name/${encodeURIComponent(fqn)}?${lineageParams(q)}`,
    ),
  impact: (q: URLSearchParams) =>
    getJson<{ data: unknown[]; total: number; truncated?: boolean; maxDepth?: number }>(
      `/api/v1/analysis/impact?${q}`,
    ),
  rootCause: (q: URLSearchParams) => getJson<RootCause>(`/api/v1/analysis/rootCause?${q}`),
  diff: (q: URLSearchParams) => getJson<LineageDiff>(`/api/v1/analysis/diff?${q}`),
  origins: (q: URLSearchParams) => getJson<PropagationOrigins>(`/api/v1/analysis/propagation/origins?${q}`),
  /** Marquez-style runs of an OpenLineage job, newest first. */
  jobRuns: (namespace: string, name: string, limit = 50) =>
    getJson<{ runs: MarquezRun[]; totalCount: number }>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(name)}/runs?limit=${limit}`,
    ),
  /** Marquez-style job (OpenLineage jobs), with its latest run. */
  job: (namespace: string, name: string) =>
    getJson<{ latestRun?: Record<string, unknown> | null }>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(name)}`,
    ),
  assetUrl: (id: string) => `/api/v1/headwater/assets/${encodeURIComponent(id)}`,
  lineageUrl: (type: string, id: string, q: LineageQuery) =>
    `/api/v1/lineage/${encodeURIComponent(type)}/${encodeURIComponent(id)}?${lineageParams(q)}`,
};
