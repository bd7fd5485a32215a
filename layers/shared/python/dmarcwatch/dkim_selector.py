"""The one rule for a DKIM selector name, shared by the DNS scan (which asks for it) and the store (which
keeps the selectors seen in reports).

A bottom-layer module: both `dns` and `store` import it, and neither may import the other.

Selectors come from the internet (the `<selector>` of any DMARC report a stranger sends), so only names
that can be asked in the DNS are kept: lower case, labels of letters, digits, `_` and inner `-` (RFC 6376
§3.1 allows several labels, `s1.sub`), at most `MAX_LENGTH` characters in all.
"""

from __future__ import annotations

import re

MAX_LENGTH = 63
_LABEL_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def normalize_selector(selector: str) -> str | None:
    """A selector usable as DNS labels (lower case, no outer dots or spaces), or None."""
    name = selector.strip().strip(".").lower()
    if not name or len(name) > MAX_LENGTH:
        return None
    return name if all(_LABEL_RE.fullmatch(label) for label in name.split(".")) else None
