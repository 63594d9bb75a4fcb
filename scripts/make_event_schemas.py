"""Write the JSON Schema of every domain event's ``detail`` (docs/events/<detail-type>.v1.json).

    python scripts/make_event_schemas.py          # (re)write docs/events/*.v1.json
    python scripts/make_event_schemas.py --check  # exit 1 if a committed file differs

One schema per detail-type, versioned in its file name (``.v1``) and in ``detail.version``: an
incompatible change of a detail's shape gets a new version beside the old one. The tests validate
every event the publisher really emits against these files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for entry in (REPO, REPO / "layers" / "douyin_pay"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from douyin_pay.bundle.domain_events import (  # noqa: E402
    ANOMALY,
    AUDIT_EVENTS,
    AUTO_SETTLED,
    FULFILMENT,
    SCHEMA_VERSION,
    SETTLEMENT_DUE,
    SOURCE,
    STATUS_EVENTS,
)
from douyin_pay.bundle.states import STATUSES, Kind  # noqa: E402

OUT = REPO / "docs" / "events"
REF_FIELD = {Kind.ORDER: "out_order_no", Kind.REFUND: "out_refund_no", Kind.SETTLEMENT: "out_settle_no"}
OBJECT_DOC = {
    Kind.ORDER: "the order as GET /payments/{out_order_no} shows it (docs/openapi.yaml Order)",
    Kind.REFUND: "the refund as GET /refunds/{out_refund_no} shows it (docs/openapi.yaml Refund)",
    Kind.SETTLEMENT: "the settlement as GET /settlements/{out_settle_no} shows it (docs/openapi.yaml Settlement)",
}


def file_name(detail_type: str) -> str:
    return f"{detail_type.lower().replace(' ', '-')}.v{SCHEMA_VERSION}.json"


def schema(detail_type: str, kinds: list[Kind], status: str | None, description: str) -> dict[str, Any]:
    statuses = sorted({s.value for k in kinds for s in STATUSES[k]})
    objects = [
        {
            "type": "object",
            "description": OBJECT_DOC[k],
            "required": [REF_FIELD[k], "status", "protocol", "created_at", "updated_at"],
            "properties": {
                REF_FIELD[k]: {"type": "string"},
                "status": {"enum": [s.value for s in STATUSES[k]]},
                "protocol": {"enum": ["ecpay", "trade"]},
            },
        }
        for k in kinds
    ]
    properties: dict[str, Any] = {
        "event_id": {
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "The same for every delivery of this change: dedupe on it",
        },
        "version": {"const": SCHEMA_VERSION},
        "kind": {"enum": [k.value for k in kinds]},
        "ref": {"type": "string", "description": "The object's business number"},
        "protocol": {"enum": ["ecpay", "trade"]},
        "status": {"const": status} if status else {"enum": statuses},
        "previous_status": {"enum": [*statuses, None], "description": "null: the object was created by this change"},
        "changed_at": {"type": "integer", "description": "Unix seconds of the change: order events by it"},
        "object": objects[0] if len(objects) == 1 else {"oneOf": objects},
    }
    required = ["event_id", "version", "kind", "ref", "protocol", "status", "previous_status", "changed_at", "object"]
    if detail_type == ANOMALY:
        properties["anomaly"] = {
            "type": "object",
            "required": ["source", "outcome"],
            "properties": {
                "source": {"enum": ["callback", "query", "reconcile"]},
                "outcome": {"enum": ["mismatch", "conflict", "paid_after_expiry", "unreserved"]},
                "fields": {"type": "array", "items": {"type": "string"}},
                "at": {"type": "integer"},
            },
        }
        required.append("anomaly")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://douyin-pay-aws.example/events/{file_name(detail_type)}",
        "title": detail_type,
        "description": f"{description} EventBridge: source `{SOURCE}`, detail-type `{detail_type}`; this is `detail`.",
        "type": "object",
        "required": required,
        "properties": properties,
    }


def generate() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (kind, status), detail_type in STATUS_EVENTS.items():
        out[file_name(detail_type)] = schema(detail_type, [kind], status, f"The {kind.value} became {status}.")
    out[file_name(FULFILMENT)] = schema(
        FULFILMENT,
        [Kind.ORDER],
        "PAID",
        "The merchant recorded that a paid order was fulfilled (核销); its status stays PAID and the order's "
        "fulfilled_at is set.",
    )
    out[file_name(SETTLEMENT_DUE)] = schema(
        SETTLEMENT_DUE,
        [Kind.ORDER],
        "PAID",
        "A paid ecpay order nobody has settled nears the day the platform settles it by itself, in full to "
        "the seller (150 days after payment; the order's settle_due_at): settle it before then if partners "
        "are owed a share. Sent once per order.",
    )
    out[file_name(AUTO_SETTLED)] = schema(
        AUTO_SETTLED,
        [Kind.ORDER],
        "PAID",
        "The platform settled a paid ecpay order by itself (150 days after payment), in full to the seller; "
        "the order's auto_settled_at and auto_settlement are set. Its later refunds come from the withdrawable "
        "balance.",
    )
    for decision, detail_type in AUDIT_EVENTS.items():
        out[file_name(detail_type)] = schema(
            detail_type, [Kind.REFUND], None, f"The merchant's audit of a refund a user asked for: {decision}."
        )
    out[file_name(ANOMALY)] = schema(
        ANOMALY,
        list(Kind),
        None,
        "The platform said something that disagrees with the stored object (recorded on it, never applied; "
        "or paid after it expired here: then it is PAID). A person should look.",
    )
    return out


def render(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [n for n, v in files.items() if not (OUT / n).exists() or (OUT / n).read_text("utf-8") != render(v)]
        extra = [p.name for p in OUT.glob("*.json") if p.name not in files]
        for name in stale + extra:
            print(f"docs/events/{name} differs from what the script generates", file=sys.stderr)
        return 1 if stale or extra else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (OUT / name).write_text(render(value), encoding="utf-8")
    print(f"wrote {len(files)} schemas to docs/events/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
