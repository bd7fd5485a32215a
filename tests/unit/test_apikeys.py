from __future__ import annotations

import pytest

from dmarcwatch.auth.apikeys import generate_key, hash_key, key_prefix, parse_key
from dmarcwatch.models import Environment


@pytest.mark.parametrize("environment", list(Environment))
def test_generated_key_has_format_checksum_and_environment(environment: Environment) -> None:
    key = generate_key(environment)
    assert key.startswith(f"dmw_{environment.value}_")
    assert len(key) == len(f"dmw_{environment.value}_") + 32 + 6
    assert parse_key(key) is environment
    assert key_prefix(key) == key[:12]


def test_keys_are_unique_and_hash_is_sha256_hex() -> None:
    keys = {generate_key(Environment.LIVE) for _ in range(200)}
    assert len(keys) == 200
    digest = hash_key(next(iter(keys)))
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_a_single_changed_character_fails_the_checksum() -> None:
    key = generate_key(Environment.LIVE)
    position = 20
    swapped = "A" if key[position] != "A" else "B"
    assert parse_key(key[:position] + swapped + key[position + 1 :]) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "dmw_live_",
        "dmw_prod_" + "a" * 38,
        "sk_live_" + "a" * 38,
        "dmw_live_" + "a" * 37,
        "dmw_live_" + "!" * 38,
    ],
)
def test_malformed_keys_are_rejected(value: str) -> None:
    assert parse_key(value) is None
