"""The facets of a domain: the values the domain list filters on through the facet index.

Every domain has exactly one value of each single-valued facet (its folder or `none`, favourite or not,
its status) and one per tag. `store.facets` keeps a member item per (facet value, domain) and a count per
facet value; a filtered list reads the member items of one value instead of the whole tenant.
"""

from __future__ import annotations

from collections.abc import Iterable

from dmarcwatch.models import Domain, DomainStatus

NO_FOLDER = "none"


def folder_facet(folder_id: str | None) -> str:
    return f"folder:{folder_id or NO_FOLDER}"


def tag_facet(tag: str) -> str:
    return f"tag:{tag}"


def favorite_facet(is_favorite: bool) -> str:
    return f"favorite:{'true' if is_favorite else 'false'}"


def status_facet(status: DomainStatus | str) -> str:
    return f"status:{DomainStatus(status).value}"


def facets_of(domain: Domain) -> frozenset[str]:
    """A removed domain is in `status:removed` only: it leaves its folder's, tags' and favourites' lists
    (and the dashboard) until it is restored."""
    if domain.status == DomainStatus.REMOVED:
        return frozenset({status_facet(DomainStatus.REMOVED)})
    return frozenset(
        {
            folder_facet(domain.folder_id),
            favorite_facet(domain.is_favorite),
            status_facet(domain.status),
            *(tag_facet(tag) for tag in domain.tags),
        }
    )


def matches(domain: Domain, wanted: Iterable[str]) -> bool:
    """Whether the domain holds every facet value in `wanted` (the AND of the list's filters)."""
    return frozenset(wanted) <= facets_of(domain)
