"""ScimError: an answer in the RFC 7644 §3.12 shape (status and scimType), raised anywhere under the base URL."""
from __future__ import annotations

import orjson
from flask import Response
from scim2_models import Error

CONTENT_TYPE = "application/scim+json"


def answer(status: int, body, headers: dict | None = None) -> Response:
    """A SCIM answer: body (None: none) as application/scim+json, with headers."""
    if body is None:
        response = Response(status=status)
    else:
        # orjson: a 10,000-member group's answer (1.7 MB) encodes several times faster than with json.dumps
        response = Response(orjson.dumps(body), status=status, mimetype=CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class ScimError(Exception):
    """Answer the request with a SCIM error body; scim_type is None where the RFC gives none (401, 404, 405 ...)."""

    def __init__(self, status: int, scim_type: str | None, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.scim_type, self.detail, self.headers = status, scim_type, detail, headers or {}

    def body(self) -> dict:
        """The error document (scim2-models' Error, dumped)."""
        error = Error(status=self.status, scim_type=self.scim_type, detail=self.detail)
        return error.model_dump(exclude_none=True)

    @property
    def audit_reason(self) -> str:
        """What scim.request.refused records as its reason: the scimType, or the status."""
        return self.scim_type or str(self.status)
