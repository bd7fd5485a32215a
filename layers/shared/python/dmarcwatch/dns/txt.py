"""TXT record text.

One TXT record is a list of character-strings of at most 255 octets each; SPF (RFC 7208 §3.3) and DMARC
records longer than that are split by the publisher and must be joined back WITHOUT any separator. Joining
with a space (as many tools display them) silently breaks a term cut in the middle.

Length: one TXT RRset can carry about 64 KB, and the zone (so its owner, a tenant) chooses every octet. The
parsers read records of at most `MAX_RECORD_LENGTH` characters and report a longer one as invalid without
parsing it: an SPF record should fit in 512 octets (RFC 7208 §3.4), the largest DKIM key (RSA 16384) is
under 3 KB, and a cap keeps the cost of every parser small whatever the zone publishes.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_RECORD_LENGTH = 4096


def join_txt(strings: Iterable[bytes]) -> str:
    """The strings of one TXT record joined as RFC 7208 §3.3 says: concatenated, no spaces added.

    Records are ASCII by specification; stray non-ASCII octets are kept visible (as U+FFFD) so the syntax
    checks report them instead of the decoder failing.
    """
    return b"".join(strings).decode("utf-8", errors="replace")


def too_long(text: str) -> str | None:
    """Why `text` is not parsed (a sentence for the report), or None when its length is acceptable."""
    if len(text) <= MAX_RECORD_LENGTH:
        return None
    return f"the record has {len(text)} characters; records over {MAX_RECORD_LENGTH} are not parsed"
