"""The ``ServiceBlueprint`` value of this blueprint, for ``Services.create_blueprint`` and ``blueprint.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from blueprint.jobs import JOBS, JobSpec

BLUEPRINT_JSON = Path(__file__).with_name("blueprint.json")
NO_MANAGER = "0x" + "00" * 20

METADATA: dict[str, str | None] = {
    "name": "tangle-faas",
    "description": "Verifiable code execution in hardened Docker sandboxes, with signed result receipts",
    "author": "Tangle FaaS operator",
    "category": "compute",
    "code_repository": None,
    "logo": None,
    "website": None,
    "license": "Apache-2.0",
}


def render_blueprint() -> dict[str, Any]:
    """The ``ServiceBlueprint`` as substrate-interface accepts it.

    Use it as ``compose_call("Services", "create_blueprint", {"blueprint": render_blueprint()})``.
    """
    return {
        "metadata": dict(METADATA),
        "jobs": [_job_definition(spec) for spec in JOBS],
        "registration_params": [],
        "request_params": [],
        "manager": {"Evm": NO_MANAGER},
        "master_manager_revision": "Latest",
    }


def blueprint_json() -> str:
    """``render_blueprint()`` as stable, indented JSON text (with a final newline)."""
    return json.dumps(render_blueprint(), indent=2, sort_keys=False) + "\n"


def write_blueprint_json(path: Path | str = BLUEPRINT_JSON) -> Path:
    """Write ``blueprint_json()`` to ``path`` (by default the committed ``blueprint/blueprint.json``)."""
    target = Path(path)
    target.write_text(blueprint_json(), encoding="utf-8")
    return target


def _job_definition(spec: JobSpec) -> dict[str, Any]:
    return {
        "metadata": {"name": spec.name, "description": spec.description},
        "params": [param.field_type for param in spec.params],
        "result": [param.field_type for param in spec.result],
    }
