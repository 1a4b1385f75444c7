"""dm.rules.patterns: DM's wildcards and ~regex values."""

import pytest

from dm.rules.patterns import (
    PatternError,
    check_value,
    check_wildcard,
    value_matcher,
    wildcard_matcher,
)

MATCHES = [
    # pattern, name, matches
    ("abc", "abc", True),
    ("abc", "abcd", False),
    ("abc", "ab", False),
    ("abc*", "abc", True),  # '*' matches zero characters
    ("abc*", "abcdef", True),
    ("abc*", "ab", False),
    ("*", "", True),
    ("*", "anything", True),
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("a?c", "abbc", False),
    ("a?*", "a", False),
    ("a?*", "ab", True),
    ("t_[0-9]", "t_5", True),
    ("t_[0-9]", "t_a", False),
    ("t_[0-9]", "t_55", False),
    ("t_[0-9]*", "t_55", True),
    ("t_[!0-9]", "t_a", True),
    ("t_[!0-9]", "t_5", False),
    ("[abc]x", "bx", True),
    ("[abc]x", "dx", False),
    ("[a-cx-z]", "y", True),
    ("[a-cx-z]", "m", False),
    ("[a-]", "-", True),  # '-' at the end is a plain character
    ("[!]", "!", True),  # DM reads `[!]` as the character '!'
    ("[!]", "a", False),
    ("[]", "a", False),  # an empty set matches nothing
    ("[z-a]", "m", False),  # a reversed range matches nothing
    ("[!z-a]", "m", True),
    ("a[b", "a[b", True),  # '[' without ']' is literal
    ("a.b", "a.b", True),  # regex metacharacters are literal
    ("a.b", "axb", False),
    ("a+b", "a+b", True),
    ("db_(1)", "db_(1)", True),
    ("中文?", "中文字", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCHES)
def test_wildcard(pattern: str, name: str, expected: bool) -> None:
    assert wildcard_matcher(pattern)(name) is expected


@pytest.mark.parametrize("pattern", ["a*b", "**", "*a", ""])
def test_refused_wildcards(pattern: str) -> None:
    with pytest.raises(PatternError):
        check_wildcard(pattern)


@pytest.mark.parametrize(
    ("value", "name", "case_sensitive", "expected"),
    [
        ("~^t_\\d+$", "t_12", True, True),
        ("~^t_\\d+$", "t_1a", True, False),
        ("~t_", "xt_y", True, True),  # searched anywhere, like Go's MatchString
        ("~^T_", "t_1", False, True),  # case-insensitive unless case-sensitive
        ("~^T_", "t_1", True, False),
        ("Tb*", "tbx", False, True),  # wildcards fold to lower case
        ("Tb*", "tbx", True, False),
        ("Tb*", "Tbx", True, True),
    ],
)
def test_value_matcher(value: str, name: str, case_sensitive: bool, expected: bool) -> None:
    assert value_matcher(value, case_sensitive=case_sensitive)(name) is expected


def test_bad_regex_is_refused() -> None:
    with pytest.raises(PatternError, match="regular expression"):
        check_value("~(unclosed")
