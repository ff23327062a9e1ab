"""The users, groups, workspace roles and credentials pyatlan asks for (Atlan's `/api/service`).

Roles are fixed: `$admin`, `$member`, `$guest` (headwater's admin, editor and viewer) and
`$api-token-default-access`. Users are the ones registered here plus one per API token name;
groups are the ones registered here. Both live in the store's settings, so every server on one
database sees them. Credentials keep no secret: headwater needs none for event connectors.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from headwater.atlan.errors import AtlasError, bad_request
from headwater.store import Store, now_ms

_NS = uuid.UUID("8f6a3c1e-3b9e-4d3c-9a55-5f0f2f1d2c11")
ROLES = (
    ("$admin", "Admin", "admin"),
    ("$member", "Member", "editor"),
    ("$guest", "Guest", "viewer"),
    ("$api-token-default-access", "API token default access", None),
)
USERS_KEY = "atlan.users"
GROUPS_KEY = "atlan.groups"
CREDENTIALS_KEY = "atlan.credentials"
_SECRET_FIELDS = ("password", "secret", "token", "private_key", "privateKey")
_lock = threading.Lock()


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


def role_records() -> list[dict[str, Any]]:
    return [
        {
            "id": stable_id("role", name),
            "name": name,
            "description": description,
            "clientRole": False,
            "level": "workspace",
            "memberCount": "0",
            "userCount": "0",
        }
        for name, description, _ in ROLES
    ]


def role_name_for(headwater_role: str) -> str:
    for name, _, hw in ROLES:
        if hw == headwater_role:
            return name
    return "$guest"


def _load(store: Store, key: str) -> list[dict[str, Any]]:
    raw = store.get_setting(key)
    if not raw:
        return []
    value = json.loads(raw)
    return value if isinstance(value, list) else []


def _save(store: Store, key: str, items: list[dict[str, Any]]) -> None:
    store.set_setting(key, json.dumps(items, sort_keys=True))


def users(store: Store) -> list[dict[str, Any]]:
    out = list(_load(store, USERS_KEY))
    known = {u.get("username") for u in out}
    for token in store.list_tokens():
        name = token.get("name")
        if not name or name in known or token.get("revoked_at"):
            continue
        known.add(name)
        role = role_name_for(str(token.get("role")))
        out.append(
            {
                "id": stable_id("user", name),
                "username": name,
                "email": f"{name}@headwater.local",
                "enabled": True,
                "workspaceRole": role,
                "createdTimestamp": token.get("created_at"),
                "attributes": {},
            }
        )
    return out


def add_users(store: Store, payload: Any) -> list[dict[str, Any]]:
    items = payload.get("users") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise bad_request("Send `users` as a non-empty array of {email, roleName}")
    roles = {r["name"]: r["id"] for r in role_records()}
    created = []
    with _lock:
        current = _load(store, USERS_KEY)
        for i, item in enumerate(items):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("email"), str)
                or "@" not in item["email"]
            ):
                raise bad_request(f"users[{i}]: a valid email is required")
            email = item["email"]
            username = str(item.get("username") or email.split("@", 1)[0])
            role = str(item.get("roleName") or "$guest")
            if role not in roles:
                raise bad_request(f"users[{i}]: unknown roleName {role!r}; use one of {', '.join(roles)}")
            if any(u.get("username") == username for u in current):
                raise AtlasError(409, "ATLAS-409-00-010", f"User {username} already exists")
            user = {
                "id": stable_id("user", username),
                "username": username,
                "email": email,
                "firstName": item.get("firstName"),
                "lastName": item.get("lastName"),
                "enabled": True,
                "workspaceRole": role,
                "createdTimestamp": now_ms(),
                "attributes": {},
            }
            current.append({k: v for k, v in user.items() if v is not None})
            created.append(user)
        _save(store, USERS_KEY, current)
    return created


def groups(store: Store) -> list[dict[str, Any]]:
    return _load(store, GROUPS_KEY)


def group_name(alias: str) -> str:
    """The internal name Atlan derives from a group's alias (as pyatlan's AtlanGroup does)."""
    return alias.lower().replace(" ", "_")


def add_group(store: Store, payload: Any) -> dict[str, Any]:
    group = payload.get("group") if isinstance(payload, dict) else None
    if not isinstance(group, dict):
        raise bad_request("Send `group` as an object with a name or attributes.alias")
    attrs = group.get("attributes") or {}
    alias_list = attrs.get("alias") if isinstance(attrs, dict) else None
    alias = group.get("alias") or (alias_list[0] if isinstance(alias_list, list) and alias_list else None)
    name = group.get("name") or (group_name(alias) if isinstance(alias, str) else None)
    if not isinstance(name, str) or not name:
        raise bad_request("A group needs a name or attributes.alias")
    alias = alias if isinstance(alias, str) and alias else name
    with _lock:
        current = _load(store, GROUPS_KEY)
        if any(g.get("name") == name for g in current):
            raise AtlasError(409, "ATLAS-409-00-011", f"Group {name} already exists")
        record = {
            "id": stable_id("group", name),
            "name": name,
            "alias": alias,
            "path": f"/{name}",
            "attributes": {"alias": [alias], "description": attrs.get("description") or [""]},
            "personas": [],
            "purposes": [],
            "userCount": len(payload.get("users") or []),
        }
        current.append(record)
        _save(store, GROUPS_KEY, current)
    return record


def _matches_filter(record: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key, expected in flt.items():
        if key in ("$and", "$or") and isinstance(expected, list):
            results = [_matches_filter(record, f) for f in expected if isinstance(f, dict)]
            if not (all(results) if key == "$and" else any(results)):
                return False
            continue
        actual = record.get(key)
        if isinstance(expected, dict):
            for op, value in expected.items():
                text = "" if actual is None else str(actual)
                if op == "$ilike":
                    pattern = str(value).lower()
                    core = pattern.strip("%")
                    ok = (
                        (pattern.startswith("%") or text.lower().startswith(core))
                        and (pattern.endswith("%") or text.lower().endswith(core))
                        and core in text.lower()
                    )
                elif op == "$in":
                    ok = isinstance(value, list) and actual in value
                elif op == "$ne":
                    ok = actual != value
                else:
                    ok = actual == value
                if not ok:
                    return False
        elif actual != expected:
            return False
    return True


def page(
    records: list[dict[str, Any]],
    *,
    filter_json: str | None,
    offset: int,
    limit: int,
    sort: str | None,
) -> dict[str, Any]:
    """Heracles' paged answer: `records` (empty past the end), `totalRecord`, `filterRecord`."""
    selected = records
    if filter_json:
        try:
            flt = json.loads(filter_json)
        except ValueError:
            raise bad_request(f"filter is not valid JSON: {filter_json!r}") from None
        if isinstance(flt, dict):
            selected = [r for r in records if _matches_filter(r, flt)]
    if sort:
        key = sort.lstrip("-")
        selected = sorted(selected, key=lambda r: str(r.get(key) or ""), reverse=sort.startswith("-"))
    return {
        "totalRecord": len(records),
        "filterRecord": len(selected),
        "records": selected[offset : offset + limit] if limit >= 0 else selected[offset:],
    }


def add_credential(store: Store, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise bad_request("Send the credential as a JSON object")
    for field in ("name", "connector", "authType"):
        if not isinstance(payload.get(field), str) or not payload.get(field):
            raise bad_request(f"A credential needs `{field}`")
    raw_extra = payload.get("extra")
    extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
    record = {
        "id": str(uuid.uuid4()),
        "version": "1",
        "isActive": True,
        "createdAt": str(now_ms()),
        "updatedAt": str(now_ms()),
        "createdBy": "headwater",
        "tenantId": "default",
        "name": payload["name"],
        "description": payload.get("description"),
        "connectorConfigName": payload.get("connectorConfigName"),
        "connector": payload["connector"],
        "connectorType": payload.get("connectorType"),
        "authType": payload["authType"],
        "host": payload.get("host"),
        "port": payload.get("port"),
        "metadata": payload.get("metadata"),
        "level": payload.get("level"),
        "extra": {k: v for k, v in extra.items() if not any(s in k for s in _SECRET_FIELDS)},
    }
    with _lock:
        current = _load(store, CREDENTIALS_KEY)
        current.append(record)
        _save(store, CREDENTIALS_KEY, current)
    return record


def credential(store: Store, guid: str) -> dict[str, Any] | None:
    for record in _load(store, CREDENTIALS_KEY):
        if record.get("id") == guid:
            return record
    return None


def api_tokens(store: Store) -> list[dict[str, Any]]:
    """headwater's API tokens as Atlan API tokens (never their secret)."""
    out = []
    for token in store.list_tokens():
        if token.get("revoked_at"):
            continue
        name = str(token.get("name"))
        out.append(
            {
                "id": stable_id("token", str(token.get("jti"))),
                "clientId": name,
                "attributes": {
                    "displayName": name,
                    "createdAt": token.get("created_at"),
                    "createdBy": "headwater",
                    "workspaceRoles": [role_name_for(str(token.get("role")))],
                },
            }
        )
    return out
