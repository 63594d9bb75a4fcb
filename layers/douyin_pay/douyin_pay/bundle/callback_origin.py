"""An optional shared secret between a CDN in front of the callback URL and the function.

A Lambda Function URL takes no WAF, and CloudFront's origin access control signs a POST to it only
with a payload hash header the platform does not send. What works: CloudFront (with a WAF web ACL
and its rate-based rule) in front, adding a secret header to every request it forwards, and the
function refusing what comes without it, so that the URL itself, found or guessed, is useless.
The value is in the payment secret (``callback_origin_secret``); with none there, no check.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError

ORIGIN_HEADER = "x-douyin-pay-origin"
SECRET_FIELD = "callback_origin_secret"  # noqa: S105 - the name of a field of the payment secret
MIN_SECRET_LENGTH = 32


def origin_allowed(headers: Mapping[str, str], secret: Mapping[str, Any]) -> bool:
    """Whether a request may reach verification: always when no origin secret is configured, else
    only with the secret header (constant-time comparison)."""
    expected = secret.get(SECRET_FIELD)
    if expected is None:
        return True
    if not isinstance(expected, str) or len(expected) < MIN_SECRET_LENGTH or expected != expected.strip():
        raise ConfigurationError(f"{SECRET_FIELD} must be a string of at least {MIN_SECRET_LENGTH} characters")
    sent = next((v for k, v in headers.items() if k.lower() == ORIGIN_HEADER), None)
    if not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))
