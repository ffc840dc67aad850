"""ScimError: an answer in the RFC 7644 §3.12 shape (status and scimType), raised anywhere under the base URL."""
from __future__ import annotations

from scim2_models import Error

CONTENT_TYPE = "application/scim+json"


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
