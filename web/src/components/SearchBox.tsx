import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import { TypeIcon } from "../icons";
import type { AssetSummary } from "../types";
import { label } from "../types";

export const ASSET_TYPES = [
  "table",
  "dashboard",
  "dashboardDataModel",
  "pipeline",
  "topic",
  "mlmodel",
  "container",
  "searchIndex",
  "storedProcedure",
  "process",
  "chart",
  "database",
  "databaseSchema",
  "databaseService",
];

export function SearchBox({ onOpen }: { onOpen(a: AssetSummary): void }) {
  const [q, setQ] = useState("");
  const [type, setType] = useState("");
  const [results, setResults] = useState<AssetSummary[]>([]);
  const [total, setTotal] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!q.trim()) {
      setResults([]);
      setTotal(0);
      return;
    }
    const s = ++seq.current;
    const t = setTimeout(() => {
      api.search(q.trim(), type, 20).then(
        (r) => {
          if (s !== seq.current) return;
          setResults(r.data ?? []);
          setTotal(r.total ?? 0);
          setActive(0);
          setError(null);
        },
        (e: Error) => s === seq.current && setError(e.message),
      );
    }, 150);
    return () => clearTimeout(t);
  }, [q, type]);

  useEffect(() => {
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, []);

  const choose = (a: AssetSummary) => {
    setOpen(false);
    setQ("");
    onOpen(a);
  };

  return (
    <div className="hw-search" ref={box}>
      <select
        aria-label="Asset type"
        data-testid="search-type"
        value={type}
        onChange={(e) => setType(e.target.value)}
      >
        <option value="">all types</option>
        {ASSET_TYPES.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <input
        type="search"
        placeholder="Search assets by name or FQN…"
        aria-label="Search assets"
        data-testid="search-input"
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, results.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (e.key === "Enter" && results[active]) choose(results[active]);
          else if (e.key === "Escape") setOpen(false);
          else return;
          e.preventDefault();
        }}
      />
      {open && q.trim() && (
        <ul className="hw-search-results" role="listbox" data-testid="search-results">
          {error && <li className="hw-search-empty">{error}</li>}
          {!error && results.length === 0 && <li className="hw-search-empty">No matching assets</li>}
          {results.map((a, i) => (
            <li
              key={a.id}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              data-testid="search-result"
              data-fqn={a.fullyQualifiedName}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(a);
              }}
            >
              <TypeIcon type={a.type} />
              <div>
                <div className="hw-sr-name">
                  {label(a)} {a.partial && <span className="hw-badge">partial</span>}
                  {a.deleted && <span className="hw-badge hw-badge-warn">deleted</span>}
                </div>
                <div className="hw-sr-fqn">
                  {a.type} · {a.fullyQualifiedName}
                </div>
              </div>
            </li>
          ))}
          {total > results.length && (
            <li className="hw-search-empty">
              {total - results.length} more — refine the search
            </li>
          )}
        </ul>
      )}
    </div>
  );
}
