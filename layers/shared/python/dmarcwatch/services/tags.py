"""The tags in use in a tenant, with their counts (the facet index's counts, one Query)."""

from __future__ import annotations

from dmarcwatch import facets
from dmarcwatch.models import Tenant
from dmarcwatch.store import facets as facet_store


def tag_counts(tenant: Tenant) -> list[tuple[str, int]]:
    prefix = facets.tag_facet("")
    found = facet_store.counts_with_prefix(tenant, prefix)
    return sorted((facet.removeprefix(prefix), count) for facet, count in found.items())
