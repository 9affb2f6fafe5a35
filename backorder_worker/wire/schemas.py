"""The published JSON Schemas of every event's `data`, derived from the wire models.

`render_schemas` is the single source of the files checked in under `schemas/`: the writer
below and the drift test both call it, so a model change without `make schemas` fails CI.
Input schemas describe what we validate; output schemas describe what we serialise (every
field present). The text is deterministic: sorted keys, two-space indent, final newline.

    python -m backorder_worker.wire.schemas schemas/
"""

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from backorder_worker.wire.inputs import INPUT_DATA_MODELS
from backorder_worker.wire.outputs import OUTPUT_DATA_MODELS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def render_schemas() -> dict[str, str]:
    """File name (`<event type>.json`) → schema text, for every input and output event."""
    consumed = {
        f"{event_type}.json": _render(event_type, model, "validation", "consumed")
        for event_type, model in INPUT_DATA_MODELS.items()
    }
    published = {
        f"{event_type}.json": _render(event_type, model, "serialization", "published")
        for event_type, model in OUTPUT_DATA_MODELS.items()
    }
    return dict(sorted({**consumed, **published}.items()))


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory`; files of event types we no longer have stay."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render_schemas().items():
        path = directory / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _render(
    event_type: str,
    model: type[BaseModel],
    mode: Literal["validation", "serialization"],
    direction: str,
) -> str:
    schema: dict[str, Any] = model.model_json_schema(mode=mode)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"{event_type}.json"
    schema["title"] = event_type
    summary = (model.__doc__ or "").strip()
    schema["description"] = (
        f"The `data` of a `{event_type}` CloudEvent, {direction} by backorder-worker. {summary}"
    ).strip()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m backorder_worker.wire.schemas DIR", file=sys.stderr)
        return 2
    for path in write_schemas(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
