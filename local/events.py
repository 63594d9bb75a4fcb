"""Faithful builders for the events AWS delivers to the bundle's Lambda functions.

The local stack's gateway turns real HTTP requests into these events, the SQS poller turns received
messages into SQS batches, and ``scripts/make_events.py`` writes the sample events in ``events/``
with the same code, so what the handlers see locally is what they see on AWS.

Sources (AWS documentation unless noted):

* HTTP API payload format 2.0 ("Create AWS Lambda proxy integrations for HTTP APIs"): header names
  lower-cased, duplicate headers and duplicate query keys joined with commas, ``cookie`` headers
  moved into ``cookies``, no multi-value fields; fields that have no value (``cookies``,
  ``queryStringParameters``, ``pathParameters``, ``body``) are left out of the event.
* Function URLs ("Invoking Lambda function URLs"): the same 2.0 schema with ``routeKey`` and
  ``stage`` fixed to ``$default``, the URL id as ``apiId``, ``<url-id>.lambda-url.<region>.on.aws``
  as the domain, no ``pathParameters`` / ``stageVariables``, ``authorizer`` only for ``AWS_IAM``
  (for ``NONE`` the account id reads ``anonymous``, as in Powertools' captured test event).
* Body encoding: both services say only "if the content type of the request is binary, the body is
  base64-encoded". Which types count as text was measured against real HTTP APIs (ministack PR
  #766, corroborated for Function URLs by LeanerCloud/CUDly PR #1483): ``text/*``,
  ``application/json``, ``application/xml`` and ``application/javascript`` arrive as text;
  everything else - no ``Content-Type`` at all, ``application/x-www-form-urlencoded``, vendor
  ``+json`` types - arrives base64-encoded. :func:`encode_body` implements exactly that, and both
  HTTP builders take ``force_base64`` so handlers can be tested against either form.
* SQS ("Using Lambda with Amazon SQS"): the record shape of the documented example, ``md5OfBody``
  is the real MD5 of the body and ``md5OfMessageAttributes`` the real SQS attribute digest.
* Scheduled events: the SweeperFunction uses a SAM ``Schedule`` event (an EventBridge *rule*, which
  exists in every partition), and a rule target receives the classic ``"detail-type": "Scheduled
  Event"``, ``"source": "aws.events"`` envelope with the rule ARN in ``resources``. A SAM
  ``ScheduleV2`` (EventBridge Scheduler) would instead deliver the schedule's ``Input`` verbatim (a
  "default notification" when none is set), so a sweeper must not depend on the event's content.

Everything here is stdlib only; identifiers and times are random/now unless given, so the sample
events pass fixed values and come out byte for byte the same every time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_ID",
    "DEFAULT_REGION",
    "DEFAULT_URL_ID",
    "TEXT_MEDIA_TYPES",
    "LambdaContext",
    "encode_body",
    "function_url_domain",
    "function_url_event",
    "http_api_domain",
    "http_api_v2_event",
    "iam_caller",
    "is_text_content_type",
    "lambda_context",
    "parse_query",
    "schedule_event",
    "sqs_event",
    "sqs_message_attributes_md5",
    "sqs_queue_arn",
    "sqs_record_from_message",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_API_ID = "a1b2c3d4e5"  # HTTP API ids are 10 lower-case alphanumerics
DEFAULT_URL_ID = "l3vq7jx2mfk4cbw6ywnpzdsa5u0hteor"  # Function URL ids are 32 lower-case alphanumerics
DEFAULT_QUEUE_NAME = "douyin-pay-ReconcileQueue-Q1W2E3R4T5Y6"

# Media types that API Gateway HTTP APIs and Function URLs pass as text (see the module docstring).
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]
QueryLike = str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IAM_KEYS = ("accessKey", "accountId", "callerId", "cognitoIdentity", "principalOrgId", "userArn", "userId")


# ------------------------------------------------------------------------------------------------
# Shared pieces
# ------------------------------------------------------------------------------------------------


def is_text_content_type(content_type: str | None) -> bool:
    """True when API Gateway / Function URLs deliver a body of this ``Content-Type`` as text."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def encode_body(body: bytes | None, content_type: str | None, *, force_base64: bool = False) -> tuple[str | None, bool]:
    """Return ``(body, isBase64Encoded)`` as the service puts them in the event.

    A text body of a text content type is passed as a string; anything else (or everything, with
    ``force_base64``) is base64-encoded. A body that claims a text type but is not UTF-8 cannot be
    put in a JSON event as text, so it is base64-encoded too. No body gives ``(None, False)``.
    """
    if not body:
        return None, False
    if not force_base64 and is_text_content_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _header_pairs(headers: HeadersLike | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _merge_headers(headers: HeadersLike | None) -> tuple[dict[str, str], list[str]]:
    """Lower-case the names, join repeated headers with commas, take ``cookie`` headers out."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in _header_pairs(headers):
        key = name.strip().lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged, cookies


def _raw_query(query: QueryLike | None) -> str:
    if query is None:
        return ""
    if isinstance(query, str):
        return query[1:] if query.startswith("?") else query
    pairs: list[tuple[str, str]] = []
    items = query.items() if isinstance(query, Mapping) else query
    for key, value in items:
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, v) for v in value)
    return urlencode(pairs)


def parse_query(raw_query_string: str) -> dict[str, str] | None:
    """``queryStringParameters`` for a raw query string: decoded, repeated keys comma-joined.

    Values are form-decoded (``+`` is a space, as API Gateway decodes them); a key without ``=``
    maps to ``""``. No query at all gives ``None`` (the field is then left out of the event).
    """
    if not raw_query_string:
        return None
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query_string, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params or None


def _split_target(path: str, query: QueryLike | None) -> tuple[str, str]:
    """Accept ``/a/b?x=1`` (a raw request target) as well as a path with a separate query."""
    if query is None and "?" in path:
        path, _, raw = path.partition("?")
        return path or "/", raw
    return path or "/", _raw_query(query)


def _clf_time(epoch_ms: int) -> str:
    """``requestContext.time``: ``12/Mar/2020:19:03:58 +0000`` (English month, whatever the locale)."""
    t = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"


def _trace_id(epoch_ms: int, seed: str) -> str:
    """An X-Ray ``Root=1-<8 hex seconds>-<24 hex>`` trace header, derived from ``seed``."""
    return f"Root=1-{epoch_ms // 1000:08x}-{hashlib.sha256(seed.encode()).hexdigest()[:24]}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def iam_caller(
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    role_name: str = "merchant-backend",
    session_name: str = "backend-session",
    role_id: str = "AROAEXAMPLEROLEID1234",
    access_key: str = "ASIAIOSFODNN7EXAMPLE",
    principal_org_id: str | None = "o-exampleorgid",
    partition: str = "aws",
) -> dict[str, Any]:
    """``requestContext.authorizer.iam`` for a caller that signed with assumed-role credentials."""
    caller_id = f"{role_id}:{session_name}"
    return {
        "accessKey": access_key,
        "accountId": account_id,
        "callerId": caller_id,
        "cognitoIdentity": None,
        "principalOrgId": principal_org_id,
        "userArn": f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session_name}",
        "userId": caller_id,
    }


def _iam_authorizer(caller: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(caller) - set(_IAM_KEYS)
    if unknown:
        raise ValueError(f"unknown authorizer.iam fields: {sorted(unknown)}")
    return {"iam": {key: caller.get(key) for key in _IAM_KEYS}}


def _route_path_parameters(route_key: str, path: str) -> dict[str, str] | None:
    """Match ``path`` against the route template of ``route_key`` (``GET /a/{b}``, ``{proxy+}``)."""
    _, _, template = route_key.partition(" ")
    if not template.startswith("/"):
        return None
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            pattern += f"(?P<{name.rstrip('+')}>{'.+' if greedy else '[^/]+'})"
        else:
            pattern += re.escape(part)
    match = re.fullmatch(pattern, path)
    if match is None:
        raise ValueError(f"path {path!r} does not match route {route_key!r}")
    params = {k: unquote(v) for k, v in match.groupdict().items()}
    return params or None


def _http_common(
    *,
    method: str,
    path: str,
    query: QueryLike | None,
    headers: HeadersLike | None,
    body: bytes | None,
    force_base64: bool,
    domain_name: str,
    source_ip: str,
    request_id: str,
    epoch_ms: int,
    extra_headers: Mapping[str, str],
) -> tuple[str, str, dict[str, str], list[str], str | None, bool, dict[str, Any]]:
    path, raw_query = _split_target(path, query)
    merged, cookies = _merge_headers(headers)
    merged.setdefault("host", domain_name)
    if body and "content-length" not in merged:
        merged["content-length"] = str(len(body))
    # Set by the service whatever the client sent (x-forwarded-for is appended to).
    forwarded = merged.get("x-forwarded-for")
    merged["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
    merged["x-forwarded-port"] = "443"
    merged["x-forwarded-proto"] = "https"
    merged["x-amzn-trace-id"] = _trace_id(epoch_ms, request_id)
    merged.update(extra_headers)
    text, is_b64 = encode_body(body, merged.get("content-type"), force_base64=force_base64)
    http = {
        "method": method.upper(),
        "path": path,
        "protocol": "HTTP/1.1",
        "sourceIp": source_ip,
        "userAgent": merged.get("user-agent", ""),
    }
    return path, raw_query, dict(sorted(merged.items())), cookies, text, is_b64, http


def _assemble(
    *,
    route_key: str,
    raw_path: str,
    raw_query: str,
    cookies: list[str],
    headers: dict[str, str],
    path_parameters: Mapping[str, str] | None,
    request_context: dict[str, Any],
    body: str | None,
    is_base64: bool,
    stage_variables: Mapping[str, str] | None,
) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": raw_path, "rawQueryString": raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query_parameters = parse_query(raw_query)
    if query_parameters is not None:
        event["queryStringParameters"] = query_parameters
    event["requestContext"] = request_context
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


# ------------------------------------------------------------------------------------------------
# API Gateway HTTP API, payload format 2.0
# ------------------------------------------------------------------------------------------------


def http_api_domain(api_id: str = DEFAULT_API_ID, region: str = DEFAULT_REGION) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{api_id}.execute-api.{region}.{suffix}"


def _http_api_request_id() -> str:
    # HTTP API request ids look like "JKJaXmPLvHcESHA=": 11 random bytes, base64.
    return base64.b64encode(os.urandom(11)).decode("ascii")


def http_api_v2_event(
    method: str,
    path: str,
    *,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    query: QueryLike | None = None,
    headers: HeadersLike | None = None,
    body: bytes | None = None,
    stage: str = "$default",
    api_id: str = DEFAULT_API_ID,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    source_ip: str = "127.0.0.1",
    iam_caller: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    force_base64: bool = False,
    stage_variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The event an HTTP API (payload format 2.0) sends to a Lambda proxy integration.

    ``path`` is the request path as received (it may carry ``?query`` when ``query`` is None);
    ``query`` is the raw query string exactly as received, or pairs / a mapping to encode.
    ``route_key`` is the matched route, e.g. ``"GET /payments/{out_order_no}"``; when
    ``path_parameters`` is None they are taken from the route template. ``iam_caller`` adds
    ``requestContext.authorizer.iam`` (AWS_IAM routes; see :func:`iam_caller`). A named
    ``stage`` (not ``$default``) prefixes ``rawPath`` with ``/<stage>``, as on the execute-api URL.
    """
    epoch_ms = _now_ms() if time_epoch_ms is None else time_epoch_ms
    request_id = request_id or _http_api_request_id()
    domain = http_api_domain(api_id, region)
    route_path, raw_query, merged, cookies, text, is_b64, http = _http_common(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        force_base64=force_base64,
        domain_name=domain,
        source_ip=source_ip,
        request_id=request_id,
        epoch_ms=epoch_ms,
        extra_headers={},
    )
    if path_parameters is None and route_key != "$default":
        path_parameters = _route_path_parameters(route_key, route_path)
    raw_path = route_path if stage == "$default" else f"/{stage}{route_path}"
    http["path"] = raw_path
    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if iam_caller is not None:
        context["authorizer"] = _iam_authorizer(iam_caller)
    context |= {
        "domainName": domain,
        "domainPrefix": api_id,
        "http": http,
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": _clf_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    return _assemble(
        route_key=route_key,
        raw_path=raw_path,
        raw_query=raw_query,
        cookies=cookies,
        headers=merged,
        path_parameters=path_parameters,
        request_context=context,
        body=text,
        is_base64=is_b64,
        stage_variables=stage_variables,
    )


# ------------------------------------------------------------------------------------------------
# Lambda Function URL
# ------------------------------------------------------------------------------------------------


def function_url_domain(url_id: str = DEFAULT_URL_ID, region: str = DEFAULT_REGION) -> str:
    return f"{url_id}.lambda-url.{region}.on.aws"


def function_url_event(
    method: str,
    path: str = "/",
    *,
    query: QueryLike | None = None,
    headers: HeadersLike | None = None,
    body: bytes | None = None,
    url_id: str = DEFAULT_URL_ID,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    source_ip: str = "127.0.0.1",
    iam_caller: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    force_base64: bool = False,
) -> dict[str, Any]:
    """The event a Lambda Function URL delivers (payload 2.0 shape, ``routeKey`` ``$default``).

    With ``iam_caller`` None the URL is AuthType NONE: ``authorizer`` is absent and
    ``requestContext.accountId`` reads ``anonymous``; with a caller (AuthType AWS_IAM) the
    authorizer is present and the account id is the function owner's ``account_id``.
    """
    epoch_ms = _now_ms() if time_epoch_ms is None else time_epoch_ms
    request_id = request_id or str(uuid.uuid4())
    domain = function_url_domain(url_id, region)
    raw_path, raw_query, merged, cookies, text, is_b64, http = _http_common(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        force_base64=force_base64,
        domain_name=domain,
        source_ip=source_ip,
        request_id=request_id,
        epoch_ms=epoch_ms,
        extra_headers={"x-amzn-tls-cipher-suite": "ECDHE-RSA-AES128-GCM-SHA256", "x-amzn-tls-version": "TLSv1.2"},
    )
    context: dict[str, Any] = {
        "accountId": "anonymous" if iam_caller is None else account_id,
        "apiId": url_id,
    }
    if iam_caller is not None:
        context["authorizer"] = _iam_authorizer(iam_caller)
    context |= {
        "domainName": domain,
        "domainPrefix": url_id,
        "http": http,
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": _clf_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    return _assemble(
        route_key="$default",
        raw_path=raw_path,
        raw_query=raw_query,
        cookies=cookies,
        headers=merged,
        path_parameters=None,
        request_context=context,
        body=text,
        is_base64=is_b64,
        stage_variables=None,
    )


# ------------------------------------------------------------------------------------------------
# SQS
# ------------------------------------------------------------------------------------------------

_SQS_TRANSPORT = {"String": 1, "Number": 1, "Binary": 2}


def _attribute_value(value: Any) -> dict[str, Any]:
    """One message attribute in the event's form (``stringValue``/``binaryValue``, ``dataType``)."""
    if isinstance(value, Mapping):
        # Either the event form already, or boto3's (StringValue / BinaryValue / DataType).
        if "DataType" in value:
            out: dict[str, Any] = {}
            if "StringValue" in value:
                out["stringValue"] = value["StringValue"]
            if "BinaryValue" in value:
                raw = value["BinaryValue"]
                out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
            out |= {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
            return out
        return dict(value)
    if isinstance(value, bool):
        raise TypeError("SQS message attributes have no boolean type")
    if isinstance(value, bytes):
        return {
            "binaryValue": base64.b64encode(value).decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        }
    data_type = "Number" if isinstance(value, int | float) else "String"
    return {"stringValue": str(value), "stringListValues": [], "binaryListValues": [], "dataType": data_type}


def sqs_message_attributes_md5(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """The MD5 SQS computes over message attributes (``MD5OfMessageAttributes``).

    Names sorted; for each: length-prefixed name, length-prefixed data type, a transport byte
    (1 string/number, 2 binary), length-prefixed value; lengths are 4-byte big-endian.
    """
    digest = hashlib.md5()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type: str = attr["dataType"]
        base_type = data_type.split(".", 1)[0]
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        transport = _SQS_TRANSPORT[base_type]
        value = str(attr["stringValue"]).encode() if transport == 1 else base64.b64decode(attr["binaryValue"])
        digest.update(bytes([transport]) + struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


def _receipt_handle(message_id: str) -> str:
    # Opaque in reality; this one is derived from the message id so that it is stable.
    seed = hashlib.sha512(message_id.encode()).digest()
    return "AQEB" + base64.b64encode(seed + hashlib.sha256(seed).digest()).decode()


def sqs_queue_arn(
    queue_name: str = DEFAULT_QUEUE_NAME, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID
) -> str:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return f"arn:{partition}:sqs:{region}:{account_id}:{queue_name}"


def sqs_record_from_message(message: Mapping[str, Any], *, queue_arn: str) -> dict[str, Any]:
    """Turn a boto3 ``receive_message`` message (``AttributeNames=["All"]``,
    ``MessageAttributeNames=["All"]``) into the record Lambda's SQS poller delivers."""
    attributes = message.get("Attributes") or {}
    keep = (
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "AWSTraceHeader",
    )
    record_attributes = {k: str(attributes[k]) for k in keep if k in attributes}
    for key in ("SequenceNumber", "MessageGroupId", "MessageDeduplicationId"):
        if key in attributes:
            record_attributes[key] = str(attributes[key])
    return _sqs_record(
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        body=message["Body"],
        attributes=record_attributes,
        message_attributes={k: _attribute_value(v) for k, v in (message.get("MessageAttributes") or {}).items()},
        queue_arn=queue_arn,
    )


def _sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    attributes: dict[str, str],
    message_attributes: dict[str, dict[str, Any]],
    queue_arn: str,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = sqs_message_attributes_md5(message_attributes)
    record["md5OfBody"] = hashlib.md5(body.encode("utf-8")).hexdigest()
    record |= {"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": queue_arn.split(":")[3]}
    return record


def sqs_event(records: list[dict[str, Any]], *, queue_arn: str | None = None) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it: ``{"Records": [...]}``.

    Each item is either a boto3 ``receive_message`` message (has ``MessageId``) or a dict with
    ``body`` (text, or a JSON-able value sent as compact JSON) and optionally ``message_id``,
    ``receipt_handle``, ``sent_timestamp_ms``, ``first_receive_timestamp_ms``, ``receive_count``
    (default 1), ``sender_id``, ``message_attributes`` (name -> str/int/bytes or attribute dict).
    """
    arn = queue_arn or sqs_queue_arn()
    out = []
    for item in records:
        if "MessageId" in item:
            out.append(sqs_record_from_message(item, queue_arn=arn))
            continue
        unknown = set(item) - {
            "body",
            "message_id",
            "receipt_handle",
            "sent_timestamp_ms",
            "first_receive_timestamp_ms",
            "receive_count",
            "sender_id",
            "message_attributes",
        }
        if unknown:
            raise ValueError(f"unknown SQS record fields: {sorted(unknown)}")
        body = item["body"]
        if not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        message_id = item.get("message_id") or str(uuid.uuid4())
        sent = int(item.get("sent_timestamp_ms") or _now_ms())
        first_receive = int(item.get("first_receive_timestamp_ms") or sent)
        attributes = {
            "ApproximateReceiveCount": str(item.get("receive_count", 1)),
            "SentTimestamp": str(sent),
            "SenderId": item.get("sender_id", "AROAEXAMPLESENDERID12:douyin-pay-sender"),
            "ApproximateFirstReceiveTimestamp": str(first_receive),
        }
        out.append(
            _sqs_record(
                message_id=message_id,
                receipt_handle=item.get("receipt_handle") or _receipt_handle(message_id),
                body=body,
                attributes=attributes,
                message_attributes={k: _attribute_value(v) for k, v in (item.get("message_attributes") or {}).items()},
                queue_arn=arn,
            )
        )
    return {"Records": out}


# ------------------------------------------------------------------------------------------------
# EventBridge scheduled event (SAM "Schedule" event source = EventBridge rule)
# ------------------------------------------------------------------------------------------------


def schedule_event(
    *,
    rule_name: str = "douyin-pay-SweeperFunctionSweep-A1B2C3D4E5F6",
    time_epoch_s: int | None = None,
    event_id: str | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> dict[str, Any]:
    """What an EventBridge scheduled rule (``rate(...)`` / ``cron(...)``) sends its Lambda target."""
    when = int(time.time()) if time_epoch_s is None else time_epoch_s
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:{partition}:events:{region}:{account_id}:rule/{rule_name}"],
        "detail": {},
    }


# ------------------------------------------------------------------------------------------------
# Lambda context
# ------------------------------------------------------------------------------------------------


class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools use."""

    def __init__(
        self,
        function_name: str,
        *,
        timeout_ms: int,
        memory_limit_in_mb: int = 512,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        aws_request_id: str | None = None,
        function_version: str = "$LATEST",
    ) -> None:
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = f"arn:{partition}:lambda:{region}:{account_id}:function:{function_name}"
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(tz=UTC):%Y/%m/%d}/[{function_version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.timeout_ms = timeout_ms
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name!r}, aws_request_id={self.aws_request_id!r})"


def lambda_context(
    function_name: str,
    *,
    timeout_ms: int,
    memory_limit_in_mb: int = 512,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    aws_request_id: str | None = None,
) -> LambdaContext:
    """A fresh context whose remaining time counts down from ``timeout_ms``."""
    return LambdaContext(
        function_name,
        timeout_ms=timeout_ms,
        memory_limit_in_mb=memory_limit_in_mb,
        region=region,
        account_id=account_id,
        aws_request_id=aws_request_id,
    )
