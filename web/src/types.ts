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
