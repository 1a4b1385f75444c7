"""dm.config.encrypt: byte-compatible with DM's `dmctl encrypt`."""

import base64

import pytest

from dm import errors
from dm.config.encrypt import decrypt, decrypt_or_plain, encrypt

# Ciphertexts produced by real DM: the integration-test sources (dm/tests/*/conf/source*.yaml)
# and the sample dm/master/source.yaml.
DM_VECTORS = [
    ("/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=", "123456"),
    ("Up8156jArvIPymkVC+5LxkAT6rek", "1234"),
]


@pytest.mark.parametrize(("cipher", "plain"), DM_VECTORS)
def test_decrypts_dm_ciphertext(cipher: str, plain: str) -> None:
    assert decrypt(cipher) == plain


@pytest.mark.parametrize("plain", ["", "abc@123", "p@ss wörd ✓", "x" * 300])
def test_round_trip(plain: str) -> None:
    cipher = encrypt(plain)
    assert decrypt(cipher) == plain
    assert decrypt_or_plain(cipher) == plain


def test_layout_is_iv_at_sign_body() -> None:
    raw = base64.b64decode(encrypt("secret"))
    assert len(raw) == 16 + 1 + len("secret")
    assert raw[16:17] == b"@"


def test_fresh_iv_each_time() -> None:
    assert encrypt("same") != encrypt("same")


@pytest.mark.parametrize(
    "bad",
    [
        "invalid-base64",  # not base64 at all
        base64.b64encode(b"invalid-plaintext").decode(),  # base64, no '@' at byte 16
        base64.b64encode(b"0123456789abcdef").decode(),  # too short
        "/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs",  # missing padding: Go's StdEncoding refuses it
    ],
)
def test_refuses_non_secrets(bad: str) -> None:
    with pytest.raises(errors.DMError) as info:
        decrypt(bad)
    assert info.value.code == errors.DECRYPT.code
    assert decrypt_or_plain(bad) == bad
