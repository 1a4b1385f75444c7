"""DM's column mappings: add prefix, add suffix and partition id with tidb-tools' bits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dm.rules.column_mapping import MAX_ORIGIN_ID, ColumnMapping, MappingError


@dataclass(frozen=True)
class Rule:
    schema_pattern: str
    table_pattern: str
    expression: str
    arguments: list[str] = field(default_factory=list)
    target_column: str = "id"


def _rule(*args: str, schema: str = "test_*", table: str = "t_*") -> ColumnMapping:
    return ColumnMapping({"r": Rule(schema, table, "partition id", list(args))})


@pytest.mark.parametrize(("args", "high"), [
    (("1", "test", "t", "_"), (1 << 59) | (2 << 52) | (3 << 44)),
    (("", "test", "t", "_"), (2 << 56) | (3 << 48)),  # no instance: the rest moves up
    (("1", "", "t", "_"), (1 << 59) | (3 << 51)),
    (("15", "test", "", "_"), (15 << 59) | (2 << 52)),
    (("1", "", "", ""), 1 << 59),
])
def test_partition_id_puts_instance_schema_and_table_ids_above_the_id(
        args: tuple[str, ...], high: int) -> None:
    rule = _rule(*args).rule_for("test_2", "t_3")
    assert rule is not None
    assert rule.apply(10) == high | 10
    assert rule.apply("10") == str(high | 10) and rule.apply(b"10") == str(high | 10).encode()
    assert rule.apply(MAX_ORIGIN_ID - 1) == high | (MAX_ORIGIN_ID - 1)


def test_partition_id_with_three_arguments_has_no_separator_and_a_bare_prefix_is_zero(
        ) -> None:
    rule = _rule("2", "test", "t", schema="test*", table="t*").rule_for("test5", "t")
    assert rule is not None and rule.apply(7) == (2 << 59) | (5 << 52) | 7


@pytest.mark.parametrize("value", [-1, MAX_ORIGIN_ID, None, "12a", 1.5, True, "١٢"])
def test_partition_id_refuses_values_outside_its_44_bits_or_not_integers(value: object
                                                                        ) -> None:
    rule = _rule("1", "test", "t", "_").rule_for("test_1", "t_1")
    assert rule is not None
    with pytest.raises(MappingError):
        rule.apply(value)


@pytest.mark.parametrize(("args", "schema", "table"), [
    (("16", "test", "t", "_"), "test_1", "t_1"),  # the instance id has 4 bits
    (("1", "test", "t", "_"), "test_128", "t_1"),  # the schema id 7
    (("1", "test", "t", "_"), "test_1", "t_256"),  # the table id 8
    (("1", "test", "t", "_"), "test_x", "t_1"),
    (("1", "test", "t", "_"), "test_", "t_1"),  # nothing after the prefix
    (("1", "test", "t", "-"), "test_1", "t_1"),  # another separator
])
def test_partition_id_refuses_names_its_arguments_do_not_describe(
        args: tuple[str, ...], schema: str, table: str) -> None:
    with pytest.raises(MappingError):
        _rule(*args, schema="*", table="*").rule_for(schema, table)


def test_add_prefix_and_suffix_keep_the_value_type_and_refuse_non_strings() -> None:
    mapping = ColumnMapping({"p": Rule("db", "a", "add prefix", ["pre_"], "name"),
                             "s": Rule("db", "b", "add suffix", ["_suf"], "name")})
    prefix, suffix = mapping.rule_for("db", "a"), mapping.rule_for("db", "b")
    assert prefix is not None and suffix is not None
    assert (prefix.column, prefix.apply("x"), prefix.apply(b"x")) == ("name", "pre_x", b"pre_x")
    assert suffix.apply("x") == "x_suf"
    for bad in (None, 5):
        with pytest.raises(MappingError):
            prefix.apply(bad)


def test_a_table_rule_wins_over_a_schema_rule_and_two_at_one_level_are_refused() -> None:
    mapping = ColumnMapping({"schema": Rule("db", "", "add prefix", ["s_"]),
                             "table": Rule("db", "t*", "add prefix", ["t_"]),
                             "t1": Rule("db", "t1", "add prefix", ["x_"])})
    assert mapping.rule_for("db", "other").argument == "s_"  # type: ignore[union-attr]
    assert mapping.rule_for("db", "t2").argument == "t_"  # type: ignore[union-attr]
    assert mapping.rule_for("DB", "T2").argument == "t_"  # type: ignore[union-attr]
    assert mapping.rule_for("other", "t2") is None
    with pytest.raises(MappingError, match="matches 2 table-level"):
        mapping.rule_for("db", "t1")


def test_the_sql_form_names_the_variable_and_the_failure() -> None:
    rule = _rule("1", "test", "t", "_").rule_for("test_1", "t_1")
    assert rule is not None
    assert rule.sql("@v", "FAIL") == (f"IF(@v >= 0 AND @v < {MAX_ORIGIN_ID}, @v | "
                                      f"{rule.high_bits}, FAIL)")
    prefix = ColumnMapping({"p": Rule("*", "", "add prefix", ["it's\\"])}).rule_for("a", "b")
    assert prefix is not None
    assert prefix.sql("@v", "FAIL") == "IF(@v IS NULL, FAIL, CONCAT('it''s\\\\', @v))"
