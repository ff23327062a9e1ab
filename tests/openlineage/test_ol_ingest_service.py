"""The ingest service's scheduling: requests first, translation never starved."""

from __future__ import annotations

import json
import time
import uuid

from ol_helpers import make_event

from headwater.openlineage.events import accept_json
from headwater.openlineage.service import IngestService
from headwater.store import Store


def _event(i: int) -> object:
    body = make_event(
        "COMPLETE",
        run_id=str(uuid.UUID(int=i + 1)),
        job=("etl", f"job_{i % 7}"),
        inputs=[{"namespace": "postgres://db:5432", "name": f"shop.public.src_{i % 5}"}],
        outputs=[{"namespace": "postgres://db:5432", "name": f"shop.public.dst_{i % 3}"}],
    )
    return accept_json(json.dumps(body).encode())


def test_translation_keeps_moving_under_constant_load_then_catches_up(store: Store) -> None:
    """While events keep arriving, translation waits at most ``max_translate_wait`` seconds
    and then takes its share, so lineage appears during a flow that never pauses; once the
    flow stops, every stored event is translated."""
    svc = IngestService(store, max_translate_wait=0.5, max_yield=0.2, translate_delay=0.01)
    svc.start()
    try:
        stored = 0
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            # several clients at once: the flow never pauses for the 20 ms that count as idle
            futures = [svc.submit([_event(stored + k)], "test") for k in range(4)]
            stored += sum(f.result(timeout=30) for f in futures)
        translated_during_flow = stored - svc.pending()
        assert stored >= 20
        assert translated_during_flow > 0, "translation starved by a constant flow of stores"
        assert svc.wait_idle(60)
        assert svc.pending() == 0
    finally:
        svc.stop()
