// Shapes returned by the headwater API (OpenMetadata lineage dialect + native asset API).

export interface EntityReference {
  id: string;
  type: string;
  name?: string;
  fullyQualifiedName?: string;
  displayName?: string | null;
  description?: string | null;
  deleted?: boolean;
  href?: string | null;
}

export interface ColumnLineage {
  fromColumns?: string[];
  toColumn?: string;
  function?: string | null;
}

export interface LineageDetails {
  sqlQuery?: string | null;
  columnsLineage?: ColumnLineage[] | null;
  pipeline?: EntityReference | null;
  source?: string | null;
  description?: string | null;
  createdAt?: number | null;
  updatedAt?: number | null;
  createdBy?: string | null;
  updatedBy?: string | null;
  // Not in the contract; shown when a server provides it.
  lastRun?: Record<string, unknown> | null;
  [k: string]: unknown;
}

export interface LineageEdge {
  fromEntity: string;
  toEntity: string;
  description?: string | null;
  lineageDetails?: LineageDetails | null;
}

export interface EntityLineage {
  entity: EntityReference;
  nodes?: EntityReference[];
  upstreamEdges?: LineageEdge[];
  downstreamEdges?: LineageEdge[];
  truncated?: boolean;
}

export interface Owner {
  id?: string;
  type?: string;
  name?: string;
  displayName?: string;
  [k: string]: unknown;
}

export interface AssetSummary extends EntityReference {
  partial?: boolean;
  owner?: Owner | string | null;
}

export interface Column {
  name: string;
  fullyQualifiedName?: string;
  dataType?: string | null;
  description?: string | null;
  tags?: unknown[];
}

export interface AssetDetails extends AssetSummary {
  columns?: Column[];
  attributes?: Record<string, unknown>;
  tags?: unknown[];
  parent?: EntityReference | null;
}

// ---------------------------------------------------------------------------
// Analysis (GET /api/v1/analysis/...)

export interface AnalysisRef {
  id?: string;
  type?: string;
  fullyQualifiedName?: string | null;
  name?: string;
  deleted?: boolean;
  pk?: number;
}

export interface RootCauseRun {
  runId?: string;
  pipeline: AnalysisRef;
  state: string | null;
  startedAt?: number | null;
  endedAt?: number | null;
  updatedAt?: number | null;
  errorMessage?: string | null;
  late?: boolean;
  lateReason?: string | null;
  status?: string;
}

export interface RootCauseReason {
  kind: string;
  at?: number | null;
  pipeline?: string;
  runId?: string;
  state?: string;
  reason?: string | null;
  edge?: string[];
}

export interface RootCauseItem extends AnalysisRef {
  id: string;
  type: string;
  depth: number;
  path: string[];
  owners: string[];
  suspicion: string;
  reasons: RootCauseReason[];
  runs: RootCauseRun[];
  edges: { toEntity: string; changedAt: number | null; sources: string[]; pipelines: string[] }[];
}

export interface RootCause {
  entity: AnalysisRef;
  items: RootCauseItem[];
  pipelines: RootCauseRun[];
  truncated: boolean;
  evaluatedAt: number;
}

export interface DiffMapping {
  fromColumns: string[];
  function: string | null;
}

export interface DiffEdge {
  fromEntity: AnalysisRef;
  toEntity: AnalysisRef;
  fields?: string[];
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

export interface DiffColumn {
  fromEntity: AnalysisRef;
  toEntity: AnalysisRef;
  toColumn: string;
  before?: DiffMapping;
  after?: DiffMapping;
}

export interface LineageDiff {
  from: number;
  to: number;
  pipeline: AnalysisRef | null;
  runs: string[];
  summary: Record<string, number>;
  edges: { added: DiffEdge[]; removed: DiffEdge[]; changed: DiffEdge[] };
  columns: { added: DiffColumn[]; removed: DiffColumn[]; changed: DiffColumn[] };
  assets: (AnalysisRef & { change: string })[];
}

export interface PropagationOrigin {
  id?: string;
  type?: string;
  fullyQualifiedName?: string;
  rule?: string;
  depth?: number;
}

export interface PropagationOrigins {
  entity: AnalysisRef;
  tags?: Record<string, PropagationOrigin>;
  description?: { value?: string; origin?: PropagationOrigin };
  owners?: { ids?: string[]; origin?: PropagationOrigin };
}

export interface MarquezRun {
  id: string;
  state: string;
  createdAt?: string | null;
  startedAt?: string | null;
  endedAt?: string | null;
}

export interface SearchResult {
  data: AssetSummary[];
  total: number;
}

export function ownerName(o: AssetSummary["owner"]): string {
  if (!o) return "";
  if (typeof o === "string") return o;
  return (o.displayName as string) || (o.name as string) || (o.id as string) || "";
}

export function label(r: EntityReference): string {
  return r.displayName || r.name || r.fullyQualifiedName || r.id;
}
