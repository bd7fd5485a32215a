"""Where a report departs from RFC 7489 / RFC 9990, and what the parser made of it, as short sentences.

Real reporters rename elements, change case, leave parts out, wrap the report in another element. What a
sender clearly meant is accepted, and every repair is noted: the notes follow the reporter's own `<error>`
texts in the report's `metadata.errors`, so nothing is repaired silently and no report is lost over a
detail. Elements that either RFC lets a reporter leave out (`pct`, `sp`, `fo`, `adkim`, `scope`,
`envelope_from`, ...) simply take their defaults and are not noted.

Bounded whatever the input:
- the same note for many records is kept once, with the first record (numbered from 1, in document order)
  and how many more there were: "record 3: disposition 'Reject' normalised to 'reject' (and 41 more)";
- at most `limit` entries are listed in all, the last saying how many more were not; summaries (data the
  caps dropped) come first, so they are always listed;
- every entry is cut to `length` characters, and values quoted from the report to 64.
"""

from __future__ import annotations

_QUOTED = 64


def quoted(raw: str) -> str:
    """A reporter's value for a note: quoted, escaped, and cut short."""
    return repr(raw if len(raw) <= _QUOTED else raw[:_QUOTED] + "…")


def clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class Deviations:
    """The notes of one report (see the module docstring for the bounds)."""

    def __init__(self, limit: int, length: int) -> None:
        self.limit = limit
        self.length = length
        # Note -> [first record index, or -1 for the report as a whole; occurrences].
        self._notes: dict[str, list[int]] = {}
        self._summaries: list[str] = []
        self._unlisted = 0

    def note(self, text: str) -> None:
        """A departure of the report as a whole (its prolog, metadata, policy, element names)."""
        self._add(text, -1)

    def record(self, index: int, text: str) -> None:
        """A departure in the record at `index` (0-based); the same text in later records is counted."""
        self._add(text, index)

    def summary(self, text: str) -> None:
        """What a cap dropped from the report: listed first, always."""
        self._summaries.append(text)

    def _add(self, text: str, index: int) -> None:
        seen = self._notes.get(text)
        if seen is not None:
            seen[1] += 1
        elif len(self._notes) < self.limit:
            self._notes[text] = [index, 1]
        else:
            self._unlisted += 1

    def __len__(self) -> int:
        return len(self._summaries) + len(self._notes) + self._unlisted

    def entries(self, reporter_errors: list[str], reporter_unlisted: int = 0) -> list[str]:
        """`metadata.errors`: the summaries, the reporter's own errors, then the notes, within the bounds."""
        sentences = [*self._summaries, *reporter_errors]
        for text, (index, times) in self._notes.items():
            if index >= 0:
                text = f"record {index + 1}: {text}"
            if times > 1:
                text += f" (and {times - 1} more)"
            sentences.append(text)
        more = reporter_unlisted + self._unlisted
        if len(sentences) + (1 if more else 0) > self.limit:
            keep = self.limit - 1
            more += len(sentences) - keep
            del sentences[keep:]
        entries = [clip(sentence, self.length) for sentence in sentences]
        if more:
            entries.append(f"{more} more deviations not listed")
        return entries
