from dm.sync.sqlmode import ansi_quotes, compatible_sql_mode


def test_strictness_goes_and_dms_modes_come() -> None:
    upstream = ("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,"
                "NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,ANSI_QUOTES")
    assert compatible_sql_mode(upstream) == ("NO_ENGINE_SUBSTITUTION,ANSI_QUOTES,IGNORE_SPACE,"
                                             "NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES")


def test_an_empty_mode_and_modes_already_there() -> None:
    assert compatible_sql_mode("") == "IGNORE_SPACE,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES"
    assert compatible_sql_mode("ignore_space, NO_AUTO_VALUE_ON_ZERO") == (
        "IGNORE_SPACE,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES")


def test_ansi_quotes_bit_of_the_query_event() -> None:
    assert ansi_quotes(0x4) and ansi_quotes(0x4 | 0x100)
    assert not ansi_quotes(0) and not ansi_quotes(None) and not ansi_quotes(0x8)
