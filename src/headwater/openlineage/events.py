"""OpenLineage event validation (spec 2-0-2), written from the spec.

Strict where the core spec requires it (eventTime, producer, schemaURL, run.runId as a
UUID, job namespace and name, dataset namespace and name) and lenient elsewhere:
unknown and custom facets pass untouched, a standard facet whose structure is wrong
is dropped with a warning, and timestamps without a UTC offset are read as UTC.

No package ships the official JSON schemas, so the models below are our own reading
of the spec; they keep every field they do not know (``extra="allow"``) so that the
raw event can be stored and re-translated later without loss.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

log = logging.getLogger(__name__)

EventKind = Literal["RunEvent", "DatasetEvent", "JobEvent"]


class EventType(StrEnum):
    """Run-cycle states of the spec (run-cycle.md)."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


TERMINAL_STATES = frozenset({EventType.COMPLETE, EventType.ABORT, EventType.FAIL})


class EventValidationError(ValueError):
    """An event that the core spec forbids; ``field`` is a dotted path for the 400 body."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """Shape used in HTTP error bodies."""
        return {"field": self.field, "message": self.message}


# --------------------------------------------------------------------------- time parsing

_FRACTION = re.compile(r"(\.\d{6})\d+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: Any, *, allow_date_only: bool = False) -> datetime:
    """Parse an ISO-8601 timestamp as the producers really send it.

    Offsets are optional (missing means UTC, as the python client's own test events
    need), fractions may have nanosecond precision (truncated to microseconds), and the
    result is always an aware UTC datetime so that ordering across producers works.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be an ISO-8601 date-time string")
        text = value.strip()
        if _DATE_ONLY.match(text):
            if not allow_date_only:
                raise ValueError("must be a date-time with a 'T' separator, got a bare date")
            text += "T00:00:00"
        if "T" not in text and "t" not in text:
            raise ValueError("must be a date-time with a 'T' separator")
        text = _FRACTION.sub(r"\1", text)
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 date-time: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _require_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


# --------------------------------------------------------------------------- standard facets
# Only the structure that translation relies on is checked; everything else is kept.


class _Facet(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _JobRef(_Facet):
    namespace: str
    name: str

    @field_validator("namespace", "name")
    @classmethod
    def _nonempty(cls, v: Any) -> str:
        return _require_text(v)


class _RunRef(_Facet):
    runId: uuid.UUID


class _ParentRoot(_Facet):
    run: _RunRef
    job: _JobRef


class ParentRunFacet(_Facet):
    """``parent`` run facet (1-2-0)."""

    run: _RunRef
    job: _JobRef
    root: _ParentRoot | None = None


class NominalTimeRunFacet(_Facet):
    """``nominalTime`` run facet; bare dates occur in the wild."""

    nominalStartTime: datetime
    nominalEndTime: datetime | None = None

    @field_validator("nominalStartTime", "nominalEndTime", mode="before")
    @classmethod
    def _t(cls, v: Any) -> datetime | None:
        return None if v is None else parse_time(v, allow_date_only=True)


class ErrorMessageRunFacet(_Facet):
    """``errorMessage`` run facet."""

    message: str
    programmingLanguage: str | None = None
    stackTrace: str | None = None


class JobTypeJobFacet(_Facet):
    """``jobType`` job facet."""

    processingType: str
    integration: str
    jobType: str | None = None


class SQLJobFacet(_Facet):
    """``sql`` job facet."""

    query: str
    dialect: str | None = None


class DocumentationFacet(_Facet):
    """``documentation`` job/dataset facet."""

    description: str
    contentType: str | None = None


class SchemaField(_Facet):
    name: str
    type: str | None = None
    description: str | None = None
    ordinal_position: int | None = None
    fields: list[SchemaField] | None = None


SchemaField.model_rebuild()


class SchemaDatasetFacet(_Facet):
    """``schema`` dataset facet (1-2-0, nested fields allowed)."""

    fields: list[SchemaField] = Field(default_factory=list)


class SymlinkIdentifier(_Facet):
    namespace: str
    name: str
    type: str = "TABLE"


class SymlinksDatasetFacet(_Facet):
    """``symlinks`` dataset facet: aliases of the same dataset."""

    identifiers: list[SymlinkIdentifier] = Field(default_factory=list)


class DataSourceDatasetFacet(_Facet):
    """``dataSource`` dataset facet."""

    name: str | None = None
    uri: str | None = None


class Transformation(_Facet):
    type: str
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


class InputField(_Facet):
    namespace: str
    name: str
    field: str
    transformations: list[Transformation] | None = None


class ColumnLineageField(_Facet):
    inputFields: list[InputField]
    transformationDescription: str | None = None
    transformationType: str | None = None


class ColumnLineageDatasetFacet(_Facet):
    """``columnLineage`` dataset facet (1-0-0 .. 1-2-0, legacy and dataset forms)."""

    fields: dict[str, ColumnLineageField]
    dataset: list[InputField] | None = None


class LifecycleStateChangeDatasetFacet(_Facet):
    """``lifecycleStateChange`` dataset facet."""

    lifecycleStateChange: str


class DatasetTypeDatasetFacet(_Facet):
    """``datasetType`` dataset facet."""

    datasetType: str
    subType: str | None = None


RUN_FACETS: dict[str, type[_Facet]] = {
    "parent": ParentRunFacet,
    "nominalTime": NominalTimeRunFacet,
    "errorMessage": ErrorMessageRunFacet,
}
JOB_FACETS: dict[str, type[_Facet]] = {
    "jobType": JobTypeJobFacet,
    "sql": SQLJobFacet,
    "documentation": DocumentationFacet,
}
DATASET_FACETS: dict[str, type[_Facet]] = {
    "schema": SchemaDatasetFacet,
    "symlinks": SymlinksDatasetFacet,
    "dataSource": DataSourceDatasetFacet,
    "columnLineage": ColumnLineageDatasetFacet,
    "documentation": DocumentationFacet,
    "lifecycleStateChange": LifecycleStateChangeDatasetFacet,
    "datasetType": DatasetTypeDatasetFacet,
}


def _check_schema_fields(fields: Any, path: str) -> str | None:
    if not isinstance(fields, list):
        return f"{path}: must be an array"
    for i, f in enumerate(fields):
        if not isinstance(f, dict):
            return f"{path}.{i}: must be an object"
        if not isinstance(f.get("name"), str):
            return f"{path}.{i}.name: Field required"
        t = f.get("type")
        if t is not None and not isinstance(t, str):
            return f"{path}.{i}.type: must be a string"
        if f.get("fields") is not None:
            err = _check_schema_fields(f["fields"], f"{path}.{i}.fields")
            if err:
                return err
    return None


def _check_input_fields(items: Any, path: str) -> str | None:
    if not isinstance(items, list):
        return f"{path}: must be an array"
    for i, inp in enumerate(items):
        if not isinstance(inp, dict):
            return f"{path}.{i}: must be an object"
        for k in ("namespace", "name", "field"):
            if not isinstance(inp.get(k), str):
                return f"{path}.{i}.{k}: Field required"
        trans = inp.get("transformations")
        if trans is not None:
            if not isinstance(trans, list):
                return f"{path}.{i}.transformations: must be an array"
            for j, tr in enumerate(trans):
                if not isinstance(tr, dict) or not isinstance(tr.get("type"), str):
                    return f"{path}.{i}.transformations.{j}.type: Field required"
    return None


def _fast_schema(v: dict[str, Any]) -> str | None:
    return _check_schema_fields(v.get("fields", []), "fields")


def _fast_column_lineage(v: dict[str, Any]) -> str | None:
    fields = v.get("fields")
    if not isinstance(fields, dict):
        return "fields: Field required (an object)"
    for name, spec in fields.items():
        if not isinstance(spec, dict):
            return f"fields.{name}: must be an object"
        err = _check_input_fields(spec.get("inputFields"), f"fields.{name}.inputFields")
        if err:
            return err
    if v.get("dataset") is not None:
        return _check_input_fields(v["dataset"], "dataset")
    return None


def _fast_symlinks(v: dict[str, Any]) -> str | None:
    idents = v.get("identifiers", [])
    if not isinstance(idents, list):
        return "identifiers: must be an array"
    for i, ident in enumerate(idents):
        if not isinstance(ident, dict):
            return f"identifiers.{i}: must be an object"
        for k in ("namespace", "name"):
            if not isinstance(ident.get(k), str):
                return f"identifiers.{i}.{k}: Field required"
    return None


# hand-written checks for the facets every Spark-sized event repeats (pydantic is ~10x slower)
_FAST_CHECKS = {"schema": _fast_schema, "columnLineage": _fast_column_lineage, "symlinks": _fast_symlinks}


def _clean_facets(
    raw: Any, known: Mapping[str, type[_Facet]], path: str, warnings: list[str]
) -> dict[str, Any]:
    """Return the facet map with malformed standard facets removed (and warned about)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        warnings.append(f"{path}: facets must be an object; ignored")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            warnings.append(f"{path}.{key}: facet is not an object; dropped")
            continue
        model = known.get(key)
        fast = _FAST_CHECKS.get(key) if model is not None else None
        if fast is not None and not value.get("_deleted"):
            problem = fast(value)
            if problem is not None:
                warnings.append(f"{path}.{key}.{problem}; standard facet dropped")
                continue
        elif model is not None and not value.get("_deleted"):
            try:
                model.model_validate(value)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                warnings.append(f"{path}.{key}.{loc}: {err['msg']}; standard facet dropped")
                continue
        out[key] = value
    return out


def facet(facets: Mapping[str, Any] | None, key: str) -> Any:
    """Typed view of a facet that survived validation (None when absent or deleted)."""
    if not facets:
        return None
    raw = facets.get(key)
    if not isinstance(raw, dict) or raw.get("_deleted"):
        return None
    model = RUN_FACETS.get(key) or JOB_FACETS.get(key) or DATASET_FACETS.get(key)
    return model.model_validate(raw) if model is not None else raw


# --------------------------------------------------------------------------- core objects


@dataclass(slots=True)
class Dataset:
    """A dataset reference inside an event (input, output or static)."""

    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)
    input_facets: dict[str, Any] = field(default_factory=dict)
    output_facets: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Job:
    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    run_id: uuid.UUID
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OpenLineageEvent:
    """A validated event of any of the three kinds, plus the raw JSON it came from."""

    kind: EventKind
    event_time: datetime
    producer: str
    schema_url: str
    event_type: EventType | None
    run: Run | None
    job: Job | None
    inputs: list[Dataset]
    outputs: list[Dataset]
    dataset: Dataset | None
    raw: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> uuid.UUID | None:
        return self.run.run_id if self.run else None


def _text(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        raise EventValidationError(f"{path}{key}", "field required")
    if not isinstance(value, str) or not value.strip():
        raise EventValidationError(f"{path}{key}", "must be a non-empty string")
    return value


def _object(obj: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        raise EventValidationError(f"{path}{key}", "field required")
    if not isinstance(value, dict):
        raise EventValidationError(f"{path}{key}", "must be an object")
    return value


def _datasets(
    raw: Mapping[str, Any], key: str, warnings: list[str], known: Mapping[str, type[_Facet]] = DATASET_FACETS
) -> list[Dataset]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise EventValidationError(key, "must be an array")
    out: list[Dataset] = []
    extra = "inputFacets" if key == "inputs" else "outputFacets"
    for i, item in enumerate(value):
        path = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise EventValidationError(path, "must be an object")
        ds = Dataset(
            namespace=_text(item, "namespace", path + "."),
            name=_text(item, "name", path + "."),
            facets=_clean_facets(item.get("facets"), known, f"{path}.facets", warnings),
        )
        io_facets = _clean_facets(item.get(extra), {}, f"{path}.{extra}", warnings)
        if key == "inputs":
            ds.input_facets = io_facets
        else:
            ds.output_facets = io_facets
        out.append(ds)
    return out


def _job(raw: Mapping[str, Any], warnings: list[str], known: Mapping[str, type[_Facet]] = JOB_FACETS) -> Job:
    job = _object(raw, "job", "")
    return Job(
        namespace=_text(job, "namespace", "job."),
        name=_text(job, "name", "job."),
        facets=_clean_facets(job.get("facets"), known, "job.facets", warnings),
    )


def _run_id(run_obj: dict[str, Any]) -> uuid.UUID:
    """`run.runId`, which the core spec requires to be a UUID."""
    run_id_raw = run_obj.get("runId")
    if run_id_raw is None:
        raise EventValidationError("run.runId", "field required")
    try:
        return uuid.UUID(str(run_id_raw))
    except ValueError as exc:
        raise EventValidationError("run.runId", f"must be a UUID, got {run_id_raw!r}") from exc


def parse_event(raw: Any, *, trusted: bool = False) -> OpenLineageEvent:
    """Validate one decoded JSON value as an OpenLineage event.

    The kind is decided by the presence of ``run`` (RunEvent), then ``job`` (JobEvent),
    then ``dataset`` (DatasetEvent): a stray ``dataset`` key on a RunEvent is legal.
    Raises :class:`EventValidationError` naming the first failing field. ``trusted`` skips
    the standard-facet checks, for events that already passed them when they were stored.
    """
    no_checks: dict[str, type[_Facet]] = {}
    run_known = no_checks if trusted else RUN_FACETS
    job_known = no_checks if trusted else JOB_FACETS
    ds_known = no_checks if trusted else DATASET_FACETS
    if not isinstance(raw, dict):
        raise EventValidationError("$", "event must be a JSON object")
    warnings: list[str] = []
    try:
        event_time = parse_time(raw.get("eventTime")) if raw.get("eventTime") is not None else None
    except ValueError as exc:
        raise EventValidationError("eventTime", str(exc)) from exc
    if event_time is None:
        raise EventValidationError("eventTime", "field required")
    producer = _text(raw, "producer", "")
    schema_url = _text(raw, "schemaURL", "")

    event_type: EventType | None = None
    if raw.get("eventType") is not None:
        value = raw["eventType"]
        if not isinstance(value, str):
            raise EventValidationError("eventType", "must be a string")
        try:
            event_type = EventType(value.upper())
        except ValueError as exc:
            allowed = ", ".join(e.value for e in EventType)
            raise EventValidationError("eventType", f"must be one of {allowed}, got {value!r}") from exc

    run: Run | None = None
    job: Job | None = None
    dataset: Dataset | None = None
    inputs: list[Dataset] = []
    outputs: list[Dataset] = []
    kind: EventKind
    if "run" in raw:
        kind = "RunEvent"
        run_obj = _object(raw, "run", "")
        run_id = _run_id(run_obj)
        run = Run(run_id, _clean_facets(run_obj.get("facets"), run_known, "run.facets", warnings))
        job = _job(raw, warnings, job_known)
        inputs = _datasets(raw, "inputs", warnings, ds_known)
        outputs = _datasets(raw, "outputs", warnings, ds_known)
    elif "job" in raw:
        kind = "JobEvent"
        if "dataset" in raw:
            raise EventValidationError("dataset", "an event with job and dataset but no run is ambiguous")
        job = _job(raw, warnings, job_known)
        inputs = _datasets(raw, "inputs", warnings, ds_known)
        outputs = _datasets(raw, "outputs", warnings, ds_known)
    elif "dataset" in raw:
        kind = "DatasetEvent"
        ds = _object(raw, "dataset", "")
        dataset = Dataset(
            namespace=_text(ds, "namespace", "dataset."),
            name=_text(ds, "name", "dataset."),
            facets=_clean_facets(ds.get("facets"), ds_known, "dataset.facets", warnings),
        )
    else:
        raise EventValidationError(
            "run", "field required (or job for a JobEvent, dataset for a DatasetEvent)"
        )

    for w in warnings:
        log.warning("OpenLineage event from %s: %s", producer, w)
    return OpenLineageEvent(
        kind=kind,
        event_time=event_time,
        producer=producer,
        schema_url=schema_url,
        event_type=event_type,
        run=run,
        job=job,
        inputs=inputs,
        outputs=outputs,
        dataset=dataset,
        raw=raw,
        warnings=warnings,
    )


@dataclass(slots=True)
class AcceptedEvent:
    """An event that passed the core checks of the spec, as it goes into the raw log.

    Only what the spec requires (and what a 400 must name) is checked here; standard
    facets are validated when the event is translated, where a malformed one is dropped
    with a warning anyway. ``payload`` is the JSON exactly as received when there is one
    (stored without re-encoding); ``raw`` is the decoded event when it was decoded (the
    fast path of :func:`accept_json` does not decode it); ``core`` holds the core fields.
    """

    kind: EventKind
    core: dict[str, Any]
    payload: bytes | None = None
    raw: dict[str, Any] | None = None

    @property
    def job_name(self) -> tuple[str, str] | None:
        job = self.core.get("job") if self.kind != "DatasetEvent" else None
        return (job["namespace"], job["name"]) if isinstance(job, dict) else None

    def io_names(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(namespace, name) of the inputs and outputs (already checked to be strings)."""
        if self.kind == "DatasetEvent":
            return [], []
        return (
            [(d["namespace"], d["name"]) for d in self.core.get("inputs") or []],
            [(d["namespace"], d["name"]) for d in self.core.get("outputs") or []],
        )

    def decoded(self) -> dict[str, Any]:
        """The whole event as JSON values (decoded from the payload when needed)."""
        if self.raw is None:
            import orjson

            self.raw = orjson.loads(self.payload or b"null")
        return self.raw


def _check_datasets(raw: Mapping[str, Any], key: str) -> None:
    value = raw.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        raise EventValidationError(key, "must be an array")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise EventValidationError(f"{key}[{i}]", "must be an object")
        ns, name = item.get("namespace"), item.get("name")
        if not (isinstance(ns, str) and ns.strip() and isinstance(name, str) and name.strip()):
            path = f"{key}[{i}]."
            _text(item, "namespace", path)
            _text(item, "name", path)


def accept_event(raw: Any, payload: bytes | None = None, *, _core: bool = False) -> AcceptedEvent:
    """The ingest fast path: the core checks of :func:`parse_event` (same errors, same
    field paths) without building the event or checking facets. An event accepted here
    is one :func:`parse_event` accepts too."""
    if not isinstance(raw, dict):
        raise EventValidationError("$", "event must be a JSON object")
    event_time = raw.get("eventTime")
    if event_time is None:
        raise EventValidationError("eventTime", "field required")
    try:
        parse_time(event_time)
    except ValueError as exc:
        raise EventValidationError("eventTime", str(exc)) from exc
    _text(raw, "producer", "")
    _text(raw, "schemaURL", "")
    value = raw.get("eventType")
    if value is not None:
        if not isinstance(value, str):
            raise EventValidationError("eventType", "must be a string")
        if value.upper() not in _EVENT_TYPES:
            allowed = ", ".join(e.value for e in EventType)
            raise EventValidationError("eventType", f"must be one of {allowed}, got {value!r}")
    kind: EventKind
    if "run" in raw:
        kind = "RunEvent"
        run_obj = _object(raw, "run", "")
        _run_id(run_obj)
    elif "job" in raw:
        kind = "JobEvent"
        if "dataset" in raw:
            raise EventValidationError("dataset", "an event with job and dataset but no run is ambiguous")
    elif "dataset" in raw:
        ds = _object(raw, "dataset", "")
        _text(ds, "namespace", "dataset.")
        _text(ds, "name", "dataset.")
        return AcceptedEvent("DatasetEvent", raw, payload, None if _core else raw)
    else:
        raise EventValidationError(
            "run", "field required (or job for a JobEvent, dataset for a DatasetEvent)"
        )
    job = _object(raw, "job", "")
    _text(job, "namespace", "job.")
    _text(job, "name", "job.")
    _check_datasets(raw, "inputs")
    _check_datasets(raw, "outputs")
    return AcceptedEvent(kind, raw, payload, None if _core else raw)


_EVENT_TYPES = frozenset(e.value for e in EventType)


class _Named(msgspec.Struct):
    namespace: Any = None
    name: Any = None


class _RunId(msgspec.Struct):
    runId: Any = None


class _Core(msgspec.Struct):
    """The fields :func:`accept_event` looks at; everything else is skipped unbuilt."""

    eventTime: Any = None
    producer: Any = None
    schemaURL: Any = None
    eventType: Any = None
    run: _RunId | msgspec.UnsetType | None = msgspec.UNSET
    job: _Named | msgspec.UnsetType | None = msgspec.UNSET
    dataset: _Named | msgspec.UnsetType | None = msgspec.UNSET
    inputs: list[_Named] | None = None
    outputs: list[_Named] | None = None


_core_decoder = msgspec.json.Decoder(_Core)


def _named(obj: _Named | None) -> dict[str, Any] | None:
    return None if obj is None else {"namespace": obj.namespace, "name": obj.name}


def accept_json(data: bytes) -> AcceptedEvent | None:
    """:func:`accept_event` on a JSON text without decoding all of it: only the core fields
    are built (a Spark event is ~500 JSON objects, its core ~30), which is most of the cost
    of accepting an event and of the garbage collections it caused. Raises the same
    :class:`EventValidationError` as :func:`accept_event`; returns None when the text is
    not shaped like one event (not JSON, not an object, a core field of another type):
    decode it and call :func:`accept_event`, which names the problem exactly."""
    try:
        c = _core_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    core: dict[str, Any] = {
        "eventTime": c.eventTime,
        "producer": c.producer,
        "schemaURL": c.schemaURL,
        "eventType": c.eventType,
    }
    if c.run is not msgspec.UNSET:
        core["run"] = None if c.run is None else {"runId": c.run.runId}
    if c.job is not msgspec.UNSET:
        core["job"] = _named(c.job)
    if c.dataset is not msgspec.UNSET:
        core["dataset"] = _named(c.dataset)
    if c.inputs is not None:
        core["inputs"] = [_named(d) for d in c.inputs]
    if c.outputs is not None:
        core["outputs"] = [_named(d) for d in c.outputs]
    return accept_event(core, data, _core=True)


def parse_events(raw: Any) -> list[OpenLineageEvent]:
    """Validate a list of events; the field path of an error is prefixed with ``[index]``."""
    if not isinstance(raw, list):
        raise EventValidationError("$", "batch body must be a JSON array")
    out: list[OpenLineageEvent] = []
    for i, item in enumerate(raw):
        try:
            out.append(parse_event(item))
        except EventValidationError as exc:
            raise EventValidationError(f"[{i}].{exc.field}", exc.message) from exc
    return out
