// Small inline SVG icons per asset type (no icon fonts, nothing external).
import type { JSX } from "react";

const P: Record<string, JSX.Element> = {
  table: (
    <>
      <rect x="3" y="4" width="18" height="16" rx="2" />
      <path d="M3 9h18M3 14h18M9 9v11" />
    </>
  ),
  view: (
    <>
      <path d="M2 12s3.5-6 10-6 10 6 10 6-3.5 6-10 6S2 12 2 12z" />
      <circle cx="12" cy="12" r="3" />
    </>
  ),
  dashboard: (
    <>
      <rect x="3" y="3" width="18" height="18" rx="2" />
      <path d="M8 16v-4M12 16V8M16 16v-6" />
    </>
  ),
  dashboardDataModel: (
    <>
      <path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z" />
      <path d="M12 12l8-4.5M12 12v9M12 12L4 7.5" />
    </>
  ),
  pipeline: (
    <>
      <circle cx="5" cy="12" r="2.5" />
      <circle cx="19" cy="6" r="2.5" />
      <circle cx="19" cy="18" r="2.5" />
      <path d="M7.5 12h4M11.5 12L16.5 6.8M11.5 12l5 5.2" />
    </>
  ),
  process: (
    <>
      <circle cx="12" cy="12" r="3" />
      <path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9L7 7M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1" />
    </>
  ),
  topic: (
    <>
      <path d="M3 7h13M3 12h18M3 17h10" />
      <path d="M18 4l3 3-3 3" />
    </>
  ),
  mlmodel: (
    <>
      <circle cx="6" cy="6" r="2" />
      <circle cx="6" cy="18" r="2" />
      <circle cx="18" cy="12" r="2" />
      <path d="M8 6.8l8 4.4M8 17.2l8-4.4M6 8v8" />
    </>
  ),
  container: (
    <>
      <path d="M4 7h16l-1.5 13h-13z" />
      <path d="M3 4h18v3H3z" />
    </>
  ),
  searchIndex: (
    <>
      <circle cx="10.5" cy="10.5" r="6" />
      <path d="M15 15l6 6" />
    </>
  ),
  storedProcedure: (
    <>
      <path d="M9 20c2 0 2-2 2.5-8S13 4 15 4" />
      <path d="M7.5 11h7" />
    </>
  ),
  database: (
    <>
      <ellipse cx="12" cy="5.5" rx="7.5" ry="2.5" />
      <path d="M4.5 5.5v13c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5v-13M4.5 12c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5" />
    </>
  ),
  databaseSchema: (
    <>
      <path d="M3 6a2 2 0 012-2h4l2 2h8a2 2 0 012 2v10a2 2 0 01-2 2H5a2 2 0 01-2-2z" />
    </>
  ),
  service: (
    <>
      <rect x="3" y="4" width="18" height="7" rx="1.5" />
      <rect x="3" y="13" width="18" height="7" rx="1.5" />
      <path d="M7 7.5h.01M7 16.5h.01" />
    </>
  ),
  column: (
    <>
      <rect x="8" y="3" width="8" height="18" rx="1.5" />
      <path d="M8 8h8M8 13h8" />
    </>
  ),
  chart: (
    <>
      <path d="M4 20V10M10 20V4M16 20v-7M3 20h18" />
    </>
  ),
  unknown: (
    <>
      <rect x="4" y="4" width="16" height="16" rx="3" />
    </>
  ),
};

export const TYPE_COLORS: Record<string, string> = {
  table: "#2563eb",
  view: "#0891b2",
  dashboard: "#c026d3",
  dashboardDataModel: "#9333ea",
  pipeline: "#ea580c",
  process: "#d97706",
  topic: "#059669",
  mlmodel: "#db2777",
  container: "#65a30d",
  searchIndex: "#0d9488",
  storedProcedure: "#b45309",
  database: "#475569",
  databaseSchema: "#64748b",
  service: "#334155",
  column: "#4f46e5",
  chart: "#a21caf",
};

export function iconKey(type: string, tableType?: unknown): string {
  if (type === "table" && typeof tableType === "string" && /view/i.test(tableType)) return "view";
  if (P[type]) return type;
  if (/Service$/.test(type)) return "service";
  if (type === "columnProcess") return "process";
  return "unknown";
}

export function TypeIcon({ type, tableType, size = 16 }: { type: string; tableType?: unknown; size?: number }) {
  const k = iconKey(type, tableType);
  return (
    <svg
      className="type-icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke={TYPE_COLORS[k] ?? "#64748b"}
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-label={type}
      role="img"
    >
      {P[k]}
    </svg>
  );
}
