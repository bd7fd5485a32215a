"""Models shared by the DNS analyses: one `Issue` shape for every finding, so the API and alerts can treat
SPF and DMARC findings alike."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Issue(BaseModel):
    """One finding. `code` is stable (alerts and clients key on it); `message` is for people.

    `term`, `term_index` (1-based, after the version tag) and `position` (0-based character offset in the
    record) locate a finding inside a record when it is about one term.
    """

    severity: Severity
    code: str
    message: str
    domain: str | None = None
    term: str | None = None
    term_index: int | None = None
    position: int | None = None
