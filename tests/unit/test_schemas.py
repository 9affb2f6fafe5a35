"""The JSON Schemas checked in under `schemas/` are exactly what the wire models say."""

import json
from pathlib import Path

from backorder_worker.wire.inputs import INPUT_DATA_MODELS
from backorder_worker.wire.outputs import OUTPUT_DATA_MODELS
from backorder_worker.wire.schemas import main, render_schemas

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


def test_checked_in_schemas_match_the_models_exactly() -> None:
    rendered = render_schemas()
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in SCHEMAS_DIR.iterdir()}

    assert sorted(on_disk) == sorted(rendered), "run `make schemas` and commit the result"
    for filename, text in rendered.items():
        assert on_disk[filename] == text, f"{filename} drifted: run `make schemas`"


def test_there_is_one_schema_per_input_and_output_event_type() -> None:
    event_types = {*INPUT_DATA_MODELS, *OUTPUT_DATA_MODELS}

    assert set(render_schemas()) == {f"{event_type}.json" for event_type in event_types}
    assert len(event_types) == 10


def test_each_schema_names_its_event_type() -> None:
    for filename, text in render_schemas().items():
        schema = json.loads(text)
        event_type = filename.removesuffix(".json")
        assert (schema["$id"], schema["title"]) == (filename, event_type)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_rendering_is_deterministic_sorted_and_ends_with_a_newline() -> None:
    first, second = render_schemas(), render_schemas()

    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_quantities_are_bounded_in_the_published_schema() -> None:
    schema = json.loads(render_schemas()["stock.stowed.json"])

    assert schema["properties"]["quantity"] | {"title": None} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1_000_000_000,
        "title": None,
    }


def test_output_schemas_require_every_field_subscribers_receive() -> None:
    schema = json.loads(render_schemas()["shipment.released.json"])

    assert set(schema["required"]) == set(schema["properties"])


def test_the_command_writes_the_same_files(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0

    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert written == render_schemas()
