"""TXT record text.

One TXT record is a list of character-strings of at most 255 octets each; SPF (RFC 7208 §3.3) and DMARC
records longer than that are split by the publisher and must be joined back WITHOUT any separator. Joining
with a space (as many tools display them) silently breaks a term cut in the middle.
"""

from __future__ import annotations

from collections.abc import Iterable


def join_txt(strings: Iterable[bytes]) -> str:
    """The strings of one TXT record joined as RFC 7208 §3.3 says: concatenated, no spaces added.

    Records are ASCII by specification; stray non-ASCII octets are kept visible (as U+FFFD) so the syntax
    checks report them instead of the decoder failing.
    """
    return b"".join(strings).decode("utf-8", errors="replace")
