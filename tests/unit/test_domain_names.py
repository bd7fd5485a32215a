from __future__ import annotations

import pytest

from dmarcwatch.domain_names import DomainName, InvalidDomain, normalize_domain


@pytest.mark.parametrize(
    ("raw", "ascii_name", "unicode_name"),
    [
        ("example.com", "example.com", "example.com"),
        ("  Example.COM. ", "example.com", "example.com"),
        ("mail.sub.example.co.uk", "mail.sub.example.co.uk", "mail.sub.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de", "bücher.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de", "bücher.de"),
        ("münchen.example", "xn--mnchen-3ya.example", "münchen.example"),
        ("a-b.example", "a-b.example", "a-b.example"),
    ],
)
def test_valid_names_are_normalised(raw: str, ascii_name: str, unicode_name: str) -> None:
    assert normalize_domain(raw) == DomainName(ascii=ascii_name, unicode=unicode_name)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("192.0.2.1", "ip_address"),
        ("2001:db8::1", "ip_address"),
        ("https://example.com/", "url"),
        ("example.com/path", "url"),
        ("postmaster@example.com", "email_address"),
        ("*.example.com", "wildcard"),
        ("localhost", "single_label"),
        ("example..com", "empty_label"),
        ("exa mple.com", "invalid_idna"),
        ("under_score.example.com", "invalid_idna"),
        ("example.123", "numeric_tld"),
        ("a" * 64 + ".com", "label_too_long"),
        (".".join(["abcdefghi"] * 26) + ".com", "too_long"),
        ("example.com:25", "invalid_characters"),
    ],
)
def test_invalid_names_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    result = normalize_domain(raw)
    assert isinstance(result, InvalidDomain)
    assert result.reason == reason
    assert result.message
