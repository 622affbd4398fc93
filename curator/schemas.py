"""JSON Schemas of the data files, generated from the pydantic models."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from curator import canonical
from curator.models import OverrideFile, PackageRecord, RegistryConfig, SyncState, TrusteesFile

SCHEMAS: dict[str, type[BaseModel]] = {
    "package-record.schema.json": PackageRecord,
    "registry.schema.json": RegistryConfig,
    "sync-state.schema.json": SyncState,
    "override.schema.json": OverrideFile,
    "trustees.schema.json": TrusteesFile,
}


def render_schemas() -> dict[str, bytes]:
    out = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = name
        out[name] = canonical.dumps(schema)
    return out


def write_schemas(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_schemas()
    for name, data in rendered.items():
        (directory / name).write_bytes(data)
    return sorted(rendered)


def stale_schemas(directory: Path) -> list[str]:
    stale = []
    for name, data in render_schemas().items():
        path = directory / name
        if not path.is_file() or path.read_bytes() != data:
            stale.append(name)
    return sorted(stale)
