"""Metadata propagation: tags, descriptions and owners flow downstream along lineage, by rules.

Rules live in the `settings` table under `analysis.propagation` as JSON:

    {"rules": [
        {"name": "pii", "metadata": "tags", "tags": ["PII.*"],
         "through": ["direct", "transformation"], "maxDepth": 5, "toTables": true},
        {"name": "docs", "metadata": "description", "through": ["direct"], "maxDepth": 1},
        {"name": "owners", "metadata": "owners", "through": ["direct", "transformation"], "maxDepth": 2}
     ],
     "stopAt": ["svc.db.schema.table_that_opts_out"]}

- `tags` patterns match `tagFQN` (shell-style, `PII.*`); only labels set by hand (any labelType
  but `Propagated`) are sources.
- `through` is the hop kinds allowed: `direct` (a column copied as is) and `transformation`
  (a function, or several source columns combined). A table-level hop is direct when the edge's
  column mappings are all direct copies, else a transformation.
- `maxDepth` bounds the hops from the origin; `toTables` also labels the tables holding the reached
  columns.
- An asset opts out with `attributes.propagation == false` or by being listed in `stopAt`: it gets
  nothing and propagation does not continue through it (a table's columns opt out with it).

Column metadata flows along column mappings; table metadata along table edges. Propagated tags
carry `labelType: "Propagated"` and a `reason` naming their origin ("Propagated from column
svc.db.s.t.c by rule pii, depth 1"); propagated owners carry `inherited: true`. OpenMetadata's
TagLabel and EntityReference forbid other keys (its SDK rejects them), so the structured origin of
everything propagated ({id, type, fullyQualifiedName, rule, depth}) is kept in the hidden asset
attribute `_propagation` (`{"tags": {tagFQN: origin}, "description": {value, origin}, "owners":
{ids, origin}}`), which `GET /api/v1/analysis/propagation/origins` shows. A recompute replaces
everything propagated with what the rules give now and never touches metadata set by hand: a tag
already set by hand is not added again, a description or owners set by hand are kept, and a
propagated description edited by hand becomes the user's own.

Recomputes are incremental when they can be: after lineage changes (and hand edits of assets) the
watcher recomputes only the assets downstream of what changed (`Scope`), from the sources that can
reach them; a rules change or an explicit run recomputes everything. One recompute runs at a time
across every server on one database (a PostgreSQL advisory lock; a process lock on SQLite), and
the log position it covered is shared in `settings`, so each change is recomputed by one server.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from headwater.analysis.common import DIRECT, HOP_KINDS, TRANSFORMATION, hop_kind
from headwater.analysis.impact import Reader, column_hops
from headwater.analysis.locks import cluster_lock
from headwater.graph.index import GraphIndex
from headwater.model.assets import Asset
from headwater.model.lineage import merge_details
from headwater.model.types import AssetType
from headwater.store import Store, now_ms
from headwater.store import schema as s

log = logging.getLogger("headwater.analysis")

SETTING_KEY = "analysis.propagation"
MARK = "_propagation"
ACTOR = "headwater-propagation"
PROPAGATED = "Propagated"
METADATA_KINDS = ("tags", "description", "owners")
CHUNK = 500
STATE_KEY = "analysis.propagation.state"  # {"seq", "at"} the last recompute covered (all servers)
PROPAGATION_LOCK = 727_275  # advisory lock key: one recompute at a time per database
INCREMENTAL_LIMIT = 50_000  # changes since the last recompute beyond which a full one is cheaper
CLOCK_SLACK_MS = 2_000  # hand edits this long before the last recompute began are looked at again


@dataclass
class Scope:
    """What an incremental recompute touches: `region` (tables and other non-column assets whose
    propagated metadata may change, with their columns) and `reach` (where sources that can reach
    the region sit: the region and everything upstream of it within the deepest rule)."""

    region: set[int]
    reach: set[int]


class RulesError(ValueError):
    pass


@dataclass
class Rule:
    name: str
    metadata: str
    tags: list[str] = field(default_factory=list)
    through: list[str] = field(default_factory=lambda: list(HOP_KINDS))
    max_depth: int = 10
    to_tables: bool = False

    def matches(self, tag_fqn: str) -> bool:
        return any(fnmatch.fnmatchcase(tag_fqn, pat) for pat in self.tags)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "metadata": self.metadata,
            "through": self.through,
            "maxDepth": self.max_depth,
            "toTables": self.to_tables,
        }
        if self.metadata == "tags":
            out["tags"] = self.tags
        return out


@dataclass
class Rules:
    rules: list[Rule] = field(default_factory=list)
    stop_at: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> Rules:
        if not isinstance(raw, dict):
            raise RulesError("propagation rules must be an object with `rules` (and optional `stopAt`)")
        unknown = set(raw) - {"rules", "stopAt"}
        if unknown:
            raise RulesError(f"unknown keys in propagation rules: {', '.join(sorted(unknown))}")
        rules: list[Rule] = []
        for i, r in enumerate(raw.get("rules") or []):
            if not isinstance(r, dict):
                raise RulesError(f"rules[{i}] must be an object")
            bad = set(r) - {"name", "metadata", "tags", "through", "maxDepth", "toTables"}
            if bad:
                raise RulesError(f"rules[{i}]: unknown keys {', '.join(sorted(bad))}")
            metadata = r.get("metadata", "tags")
            if metadata not in METADATA_KINDS:
                raise RulesError(f"rules[{i}].metadata must be one of {', '.join(METADATA_KINDS)}")
            tags = r.get("tags") or []
            if metadata == "tags" and (not isinstance(tags, list) or not tags):
                raise RulesError(f"rules[{i}]: a tags rule needs `tags`, a list of tagFQN patterns")
            through = r.get("through") or list(HOP_KINDS)
            if not isinstance(through, list) or any(t not in HOP_KINDS for t in through):
                raise RulesError(f"rules[{i}].through must list hop kinds among {', '.join(HOP_KINDS)}")
            depth = r.get("maxDepth", 10)
            if not isinstance(depth, int) or depth < 1 or depth > 100:
                raise RulesError(f"rules[{i}].maxDepth must be an integer from 1 to 100")
            rules.append(
                Rule(
                    name=str(r.get("name") or f"rule{i + 1}"),
                    metadata=metadata,
                    tags=[str(t) for t in tags],
                    through=list(through),
                    max_depth=depth,
                    to_tables=bool(r.get("toTables", False)),
                )
            )
        stop = raw.get("stopAt") or []
        if not isinstance(stop, list):
            raise RulesError("stopAt must be a list of FQNs")
        return cls(rules=rules, stop_at=[str(x) for x in stop])

    def json(self) -> dict[str, Any]:
        return {"rules": [r.json() for r in self.rules], "stopAt": self.stop_at}


def load_rules(store: Store) -> Rules:
    raw = store.get_setting(SETTING_KEY)
    return Rules.parse(json.loads(raw)) if raw else Rules()


def save_rules(store: Store, raw: Any) -> Rules:
    rules = Rules.parse(raw)
    store.set_setting(SETTING_KEY, json.dumps(rules.json(), sort_keys=True))
    return rules


# -- the walk -----------------------------------------------------------------------------------


@dataclass
class Grant:
    """One piece of metadata an asset should carry, and where it came from."""

    value: Any
    origin: Asset
    rule: str
    depth: int

    def origin_json(self) -> dict[str, Any]:
        return {
            "id": self.origin.id,
            "type": self.origin.type.value,
            "fullyQualifiedName": self.origin.fqn,
            "rule": self.rule,
            "depth": self.depth,
        }


@dataclass
class Desired:
    tags: dict[str, Grant] = field(default_factory=dict)  # tagFQN -> grant (value: the source label)
    description: Grant | None = None
    owners: Grant | None = None


def _mark(asset: Asset) -> dict[str, Any]:
    mark = asset.attributes.get(MARK)
    return mark if isinstance(mark, dict) else {}


def _manual_tags(asset: Asset) -> list[dict[str, Any]]:
    """Labels we did not propagate (set by hand, or by another tool)."""
    ours = _mark(asset).get("tags") or {}
    tags = asset.attributes.get("tags") or []
    return [
        t
        for t in tags
        if isinstance(t, dict)
        and t.get("tagFQN")
        and not (t.get("labelType") == PROPAGATED and t["tagFQN"] in ours)
    ]


def _manual_owners(asset: Asset) -> list[dict[str, Any]]:
    ours = set((_mark(asset).get("owners") or {}).get("ids") or [])
    owners = asset.attributes.get("owners") or []
    return [o for o in owners if isinstance(o, dict) and not (o.get("inherited") and o.get("id") in ours)]


def _own_description(asset: Asset) -> str | None:
    """The description set by hand (not one we propagated and nobody edited since)."""
    marker = _mark(asset).get("description")
    if isinstance(marker, dict) and marker.get("value") == asset.description:
        return None
    return asset.description or None


class Propagator:
    """Computes what the rules give and writes it, replacing earlier propagated metadata."""

    def __init__(self, store: Store, index: GraphIndex) -> None:
        self.store = store
        self.index = index
        self._assets: dict[int, Asset] = {}
        self._col_by_fqn: dict[str, Asset] = {}

    def _load(self, pks: Iterable[int]) -> None:
        todo = [p for p in pks if p not in self._assets]
        if todo:
            self._assets.update(self.store.get_assets_by_pks(todo))

    def _columns(self, fqns: Iterable[str]) -> dict[str, Asset]:
        from headwater.analysis.common import columns_by_fqn

        todo = [f for f in fqns if f not in self._col_by_fqn]
        if todo:
            found = columns_by_fqn(self.store, todo)
            self._col_by_fqn.update(found)
            for a in found.values():
                self._assets[a.pk] = a
        return self._col_by_fqn

    def _opted_out(self, asset: Asset, rules: Rules) -> bool:
        if asset.attributes.get("propagation") is False or asset.fqn in rules.stop_at:
            return True
        if asset.type is AssetType.COLUMN and asset.parent_pk is not None:
            self._load([asset.parent_pk])
            parent = self._assets.get(asset.parent_pk)
            if parent is not None and parent.type is not AssetType.COLUMN:
                return parent.attributes.get("propagation") is False or parent.fqn in rules.stop_at
            if parent is not None:
                return self._opted_out(parent, rules)
        return False

    def _holder(self, column: Asset) -> Asset | None:
        cur = column
        while cur.type is AssetType.COLUMN and cur.parent_pk is not None:
            self._load([cur.parent_pk])
            nxt = self._assets.get(cur.parent_pk)
            if nxt is None:
                return None
            cur = nxt
        return cur if cur.type is not AssetType.COLUMN else None

    def _sources(self, rules: Rules) -> list[Asset]:
        kinds = {r.metadata for r in rules.rules}
        conds: list[Any] = []
        if "tags" in kinds:
            conds.append(s.assets.c.attributes.like('%"tagFQN"%'))
        if "owners" in kinds:
            conds.append(s.assets.c.attributes.like('%"owners"%'))
        if "description" in kinds:
            conds.append(s.assets.c.description.is_not(None))
        if not conds:
            return []
        out: list[Asset] = []
        with self.store.read() as conn:
            for row in conn.execute(
                select(s.assets).where(or_(*conds), s.assets.c.deleted.is_(False)).order_by(s.assets.c.pk)
            ):
                out.append(Store._row_to_asset(row))
        return out

    def _anchor(self, asset: Asset) -> int | None:
        """The graph node an asset belongs to: itself, or for a column the asset holding it."""
        if asset.type is not AssetType.COLUMN:
            return asset.pk
        holder = self._holder(asset)
        return holder.pk if holder is not None else None

    def scope_since(self, rules: Rules, seq: int, since_ms: int) -> Scope | None:
        """The scope of the lineage changes after log `seq` and the hand edits of assets after
        `since_ms`; None when there are so many that a full recompute is cheaper."""
        changed: set[int] = set()
        entries = self.store.log_since(seq, limit=INCREMENTAL_LIMIT + 1, details=False)
        if len(entries) > INCREMENTAL_LIMIT:
            return None
        for e in entries:
            changed.add(e.from_pk if e.to_pk is None else e.to_pk)
        with self.store.read() as conn:
            edited = conn.execute(
                select(s.assets)
                .where(
                    s.assets.c.updated_at > since_ms,
                    or_(s.assets.c.updated_by.is_(None), s.assets.c.updated_by != ACTOR),
                )
                .limit(INCREMENTAL_LIMIT + 1)
            ).all()
        if len(edited) > INCREMENTAL_LIMIT:
            return None
        for row in edited:
            asset = Store._row_to_asset(row)
            self._assets[asset.pk] = asset
            anchor = self._anchor(asset)
            if anchor is not None:
                changed.add(anchor)
        depth = max((r.max_depth for r in rules.rules), default=0)
        self.index.refresh()
        region = self._closure(changed, depth, upstream=False)
        return Scope(region=region, reach=self._closure(region, depth, upstream=True))

    def _closure(self, start: set[int], depth: int, *, upstream: bool) -> set[int]:
        seen = set(start)
        frontier = list(start)
        for _ in range(depth):
            nxt = []
            for pk in frontier:
                for other in self.index.upstream(pk) if upstream else self.index.downstream(pk):
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            if not nxt:
                break
            frontier = nxt
        return seen

    def _in(self, asset: Asset, pks: set[int] | None) -> bool:
        return pks is None or self._anchor(asset) in pks

    def compute(self, rules: Rules, scope: Scope | None = None) -> dict[int, Desired]:
        """What every asset (in `scope`, if given) should carry under `rules` (first origin by
        depth, then by pk, wins). Every source that can reach an asset of the scope sits in
        `scope.reach`, so the answer for those assets is the one a full recompute gives."""
        self.index.refresh()
        desired: dict[int, Desired] = {}
        sources = self._sources(rules)
        region = scope.region if scope is not None else None
        if scope is not None:
            sources = [a for a in sources if self._in(a, scope.reach)]
        for a in sources:
            self._assets[a.pk] = a
            if a.type is AssetType.COLUMN:
                self._col_by_fqn[a.fqn] = a
        # grants ordered by depth so the nearest origin wins
        pending: list[tuple[int, int, Rule, Asset, Any, Asset]] = []
        for rule in rules.rules:
            for src in sources:
                if self._opted_out(src, rules):
                    continue
                payloads = self._payloads(rule, src)
                for payload in payloads:
                    for target, depth in self._walk(src, rule, rules):
                        if self._in(target, region):
                            pending.append((depth, src.pk, rule, target, payload, src))
        pending.sort(key=lambda p: (p[0], p[1]))
        for depth, _pk, rule, target, payload, src in pending:
            want = desired.setdefault(target.pk, Desired())
            grant = Grant(payload, src, rule.name, depth)
            if rule.metadata == "tags":
                want.tags.setdefault(payload["tagFQN"], grant)
            elif rule.metadata == "description" and want.description is None:
                want.description = grant
            elif rule.metadata == "owners" and want.owners is None:
                want.owners = grant
        return desired

    def _payloads(self, rule: Rule, src: Asset) -> list[Any]:
        if rule.metadata == "tags":
            return [t for t in _manual_tags(src) if rule.matches(str(t["tagFQN"]))]
        if rule.metadata == "description":
            own = _own_description(src)
            return [own] if own else []
        owners = _manual_owners(src)
        return [owners] if owners else []

    def _walk(self, src: Asset, rule: Rule, rules: Rules) -> list[tuple[Asset, int]]:
        """Assets reached from `src` under `rule`, with their depth (opt-outs stop the walk)."""
        reached: list[tuple[Asset, int]] = []
        if src.type is AssetType.COLUMN:
            holder = self._holder(src)
            if holder is None:
                return reached
            seen = {src.fqn}
            frontier: dict[int, set[str]] = {holder.pk: {src.fqn}}
            tables_done: set[int] = {holder.pk}
            for depth in range(1, rule.max_depth + 1):
                hops = column_hops(Reader(self.store, self.index), frontier)
                cols = self._columns([h.to_column for h in hops])
                self._load({h.to_pk for h in hops})
                nxt: dict[int, set[str]] = {}
                for h in hops:
                    if h.to_column in seen or h.kind not in rule.through:
                        continue
                    target = cols.get(h.to_column)
                    table = self._assets.get(h.to_pk)
                    if target is None or table is None or target.deleted or table.deleted:
                        continue
                    if self._opted_out(target, rules):
                        continue
                    seen.add(h.to_column)
                    reached.append((target, depth))
                    if rule.to_tables and table.pk not in tables_done:
                        tables_done.add(table.pk)
                        reached.append((table, depth))
                    nxt.setdefault(h.to_pk, set()).add(h.to_column)
                if not nxt:
                    break
                frontier = nxt
            return reached
        # table-level: along asset edges
        seen_pks = {src.pk}
        frontier_pks = [src.pk]
        for depth in range(1, rule.max_depth + 1):
            pairs = [(f, t) for f in frontier_pks for t in self.index.downstream(f) if t not in seen_pks]
            if not pairs:
                break
            edges = self.store.get_edges(pairs)
            self._load({t for _, t in pairs})
            nxt_pks: list[int] = []
            for f, t in pairs:
                if t in seen_pks:
                    continue
                target = self._assets.get(t)
                if target is None or target.deleted or target.type is AssetType.COLUMN:
                    continue
                edge = edges.get((f, t))
                kind = _edge_kind(merge_details(edge.details) if edge else {})
                if kind not in rule.through or self._opted_out(target, rules):
                    continue
                seen_pks.add(t)
                reached.append((target, depth))
                nxt_pks.append(t)
            frontier_pks = nxt_pks
        return reached

    # -- writing --------------------------------------------------------------------------------

    def _carriers(self) -> list[Asset]:
        """Assets carrying propagated metadata now."""
        out: list[Asset] = []
        with self.store.read() as conn:
            for row in conn.execute(
                select(s.assets).where(
                    or_(
                        s.assets.c.attributes.like(f'%"{MARK}"%'),
                    )
                )
            ):
                out.append(Store._row_to_asset(row))
        return out

    def apply(self, desired: dict[int, Desired], scope: Scope | None = None) -> dict[str, int]:
        carriers = {a.pk: a for a in self._carriers()}
        if scope is not None:
            carriers = {pk: a for pk, a in carriers.items() if self._in(a, scope.region)}
        self._load(desired)
        changed = 0
        for pk in sorted(set(carriers) | set(desired)):
            asset = carriers.get(pk) or self._assets.get(pk)
            if asset is None:
                continue
            attrs, description = _next_state(asset, desired.get(pk))
            if attrs != asset.attributes or description != asset.description:
                self.store.update_asset_fields(pk, ACTOR, attributes=attrs, description=description)
                changed += 1
        return {"assets": len(desired), "changed": changed}


def _edge_kind(merged: dict[str, Any]) -> str:
    kinds = [
        hop_kind(cl.get("function"), cl.get("fromColumns") or [], (cl.get("fromColumns") or [None])[0])
        for cl in merged.get("columnsLineage", [])
    ]
    return DIRECT if kinds and all(k == DIRECT for k in kinds) else TRANSFORMATION


def _reason(origin: dict[str, Any]) -> str:
    return (
        f"Propagated from {origin['type']} {origin['fullyQualifiedName']} "
        f"by rule {origin['rule']}, depth {origin['depth']}"
    )


def _next_state(asset: Asset, want: Desired | None) -> tuple[dict[str, Any], str | None]:
    attrs = json.loads(json.dumps(asset.attributes))
    description = asset.description
    old_mark = attrs.pop(MARK, None)
    mark: dict[str, Any] = {}
    # tags: keep the labels we did not propagate, replace ours
    manual = _manual_tags(asset)
    manual_fqns = {t["tagFQN"] for t in manual}
    tags = list(manual)
    if want is not None:
        for tag_fqn, grant in sorted(want.tags.items()):
            if tag_fqn in manual_fqns:
                continue
            origin = grant.origin_json()
            label = {k: v for k, v in grant.value.items() if k in _LABEL_KEYS}
            label.update(labelType=PROPAGATED, reason=_reason(origin))
            label.setdefault("state", "Confirmed")
            label.setdefault("source", "Classification")
            tags.append(label)
            mark.setdefault("tags", {})[tag_fqn] = origin
    if tags or "tags" in attrs:
        attrs["tags"] = tags
    # description: only where none was set by hand
    prev = (old_mark or {}).get("description") if isinstance(old_mark, dict) else None
    if isinstance(prev, dict) and prev.get("value") == description:
        description = None  # ours, untouched since: recompute it
    if want is not None and want.description is not None and not description:
        description = str(want.description.value)
        mark["description"] = {"value": description, "origin": want.description.origin_json()}
    # owners: only where none were set by hand
    manual_owners = _manual_owners(asset)
    if "owners" in attrs or manual_owners:
        attrs["owners"] = manual_owners
    if want is not None and want.owners is not None and not manual_owners:
        attrs["owners"] = [{**o, "inherited": True} for o in want.owners.value]
        mark["owners"] = {
            "ids": [o.get("id") for o in want.owners.value],
            "origin": want.owners.origin_json(),
        }
    if mark:
        attrs[MARK] = mark
    return attrs, description


# The keys OpenMetadata's TagLabel allows (its SDK rejects any other).
_LABEL_KEYS = ("tagFQN", "name", "displayName", "description", "style", "source", "state", "href")


def origins(asset: Asset) -> dict[str, Any]:
    """Where each piece of propagated metadata of an asset came from."""
    return _mark(asset)


def recompute(store: Store, index: GraphIndex, since: dict[str, int] | None = None) -> dict[str, Any]:
    """Recompute propagated metadata from the rules and the lineage now: all of it, or (`since`:
    the {"seq", "at"} a previous recompute covered) only what changed since may affect."""
    prop = Propagator(store, index)
    rules = load_rules(store)
    scope = prop.scope_since(rules, since["seq"], since["at"] - CLOCK_SLACK_MS) if since else None
    result: dict[str, Any] = prop.apply(prop.compute(rules, scope), scope)
    result["scope"] = "full" if scope is None else len(scope.region)
    return result


def _shared_state(store: Store) -> dict[str, int] | None:
    raw = store.get_setting(STATE_KEY)
    return json.loads(raw) if raw else None


class PropagationWatcher:
    """Recomputes propagation in the background whenever the lineage log moves (or on demand)."""

    def __init__(self, store: Store, index: GraphIndex, interval: float = 2.0) -> None:
        self.store = store
        self.index = index
        self.interval = interval
        self._seen = -1
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last: dict[str, Any] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="headwater-propagation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poke(self) -> None:
        self._seen = -1
        self._wake.set()

    def run_now(self, *, full: bool = True) -> dict[str, Any]:
        """Recompute now, waiting for a recompute elsewhere to finish first."""
        result = self._run(full=full, wait=True)
        assert result is not None
        return result

    def _run(self, *, full: bool, wait: bool) -> dict[str, Any] | None:
        with self._lock, cluster_lock(self.store, PROPAGATION_LOCK, wait=wait) as got:
            if not got:
                return None  # another server is at it; look again next round
            state = _shared_state(self.store)
            seq, at = self.store.max_log_seq(), now_ms()
            if not full and state is not None and state["seq"] >= seq:
                self._seen = seq  # another server covered it meanwhile
                return self.last
            result = recompute(self.store, self.index, None if full or state is None else state)
            self.store.set_setting(STATE_KEY, json.dumps({"seq": seq, "at": at}))
            self._seen = seq
            self.last = {"seq": seq, **result}
            return self.last

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not load_rules(self.store).rules:
                    self._seen = self.store.max_log_seq()
                elif self.store.max_log_seq() != self._seen:
                    self._run(full=self._seen < 0, wait=False)
            except Exception:  # keep watching; the next change retries
                log.exception("metadata propagation failed")
            self._wake.wait(self.interval)
            self._wake.clear()
