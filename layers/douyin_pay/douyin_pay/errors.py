"""The layer's typed errors.

Every error the layer raises derives from :class:`DouyinPayError`, so a caller can catch the whole
family in one place. No message ever contains a secret (SALT, token, client_secret, private key) or
an expected signature: a message may reach a log or an HTTP answer.
"""

from __future__ import annotations

# err_no values whose outcome is unknown or transient: retry with the identical request.
# 1000 = internal error (result unknown), 1001 = busy / rate limited (ecpay-spec §2, §4).
RETRYABLE_ERR_NOS = frozenset({1000, 1001})


class DouyinPayError(Exception):
    """Base class of every error raised by ``douyin_pay``."""


class ConfigurationError(DouyinPayError):
    """The SDK was set up wrongly (no token, empty SALT, a non-https base URL, an unreadable or
    non-RSA-2048 key ...)."""


class ValidationError(DouyinPayError, ValueError):
    """A request field is invalid; nothing was sent.

    ``field`` names the offending field and ``code`` is a stable machine-readable reason.
    """

    def __init__(self, field: str, message: str, *, code: str = "invalid_field") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code
        self.detail = message


class UnsignableValueError(DouyinPayError, TypeError):
    """A value has no single rendering the platform agrees on (float, bool, None ...)."""

    def __init__(self, key: str, value_type: type) -> None:
        super().__init__(
            f"{key}: values of type {value_type.__name__} cannot be signed; "
            "send integers (fen) or strings, and leave unset fields out"
        )
        self.key = key


class CallbackError(DouyinPayError):
    """Base class of callback problems: the notice must not be applied."""


class SignatureError(CallbackError):
    """The callback's signature does not verify (ecpay: ``msg_signature`` with no configured token;
    trade: ``Byte-Signature`` with no platform public key), or its signature headers are missing,
    garbled or out of the freshness window."""


class MalformedCallbackError(CallbackError):
    """The body is not a well-formed callback (not JSON, missing fields, ``msg`` not JSON ...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PlatformError(DouyinPayError):
    """The platform refused the request, or could not be reached.

    ``err_no`` is the platform's code, or ``None`` when no platform answer was read (timeout,
    connection error, HTTP error, unreadable body). ``retryable`` tells whether repeating the
    *identical* request may succeed; a definitive refusal (2008, 2010, ...) is never retryable, and
    the business number it was sent with is then spent (ecpay-spec §2).
    """

    def __init__(
        self,
        err_no: int | None,
        err_tips: str,
        *,
        http_status: int | None = None,
        retryable: bool | None = None,
        log_id: str | None = None,
    ) -> None:
        self.err_no = err_no
        self.err_tips = err_tips
        self.http_status = http_status
        if retryable is None:
            retryable = err_no in RETRYABLE_ERR_NOS
        self.retryable = retryable
        # The platform's support id of the failed call (trade_basic answers carry one); ask with it.
        self.log_id = log_id
        where = f"err_no {err_no}" if err_no is not None else f"HTTP {http_status}" if http_status else "transport"
        suffix = f" (log_id {log_id})" if log_id else ""
        super().__init__(f"platform error ({where}): {err_tips}{suffix}")

    @property
    def err_msg(self) -> str:
        """The platform's text: trade_basic calls it ``err_msg``, ecpay ``err_tips``; one value."""
        return self.err_tips


class PlatformTransportError(PlatformError):
    """No platform answer was read: timeout, connection failure, HTTP 5xx or an unreadable body.

    The outcome of a mutating call is unknown; it is always retryable with the identical body.
    """

    def __init__(self, err_tips: str, *, http_status: int | None = None, log_id: str | None = None) -> None:
        super().__init__(None, err_tips, http_status=http_status, retryable=True, log_id=log_id)
