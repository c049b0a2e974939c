"""JSON Schemas of the records the harness writes, generated from their models into schemas/.

    python -m iwrbench.records.schemas          # regenerate schemas/*.schema.json (a test checks they are current)

Tools outside this package read the files through these schemas; inside, the pydantic models are the
definition (records/*.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def models() -> dict[str, type[BaseModel]]:
    """File kind -> the model of that file (schemas/<kind>.schema.json)."""
    from iwrbench.records.evaluation import EvalRecord
    from iwrbench.records.generation import GenerationRecord
    from iwrbench.records.manifest import Manifest
    from iwrbench.records.report import ModelReport
    from iwrbench.records.trace import Trace

    return {"generation": GenerationRecord, "eval": EvalRecord, "trace": Trace, "report": ModelReport,
            "manifest": Manifest}


def schema_of(kind: str) -> dict[str, Any]:
    model = models()[kind]
    schema = model.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://iwrbench.invalid/schemas/{kind}.schema.json", **schema}


def schema_text(kind: str) -> str:
    return json.dumps(schema_of(kind), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    from iwrbench.fsutil import atomic_write_bytes

    return [atomic_write_bytes(folder / f"{kind}.schema.json", schema_text(kind).encode("utf-8"),
                               only_if_changed=True) for kind in models()]


def main() -> int:
    for path in write_schemas():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
