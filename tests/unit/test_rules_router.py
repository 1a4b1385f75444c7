"""dm.rules.router: DM's table routing (spec §4.1), table-driven."""

from dataclasses import dataclass

import pytest

from dm import errors
from dm.rules.router import TableRouter


@dataclass
class Extract:
    regexp: str
    target_column: str


@dataclass
class Route:
    schema_pattern: str
    table_pattern: str = ""
    target_schema: str = ""
    target_table: str = ""
    extract_table: Extract | None = None
    extract_schema: Extract | None = None
    extract_source: Extract | None = None


SHARDS = {
    "schema": Route("shop_*", "", "shop"),
    "table": Route("shop_*", "order_*", "shop", "orders"),
    "keep-name": Route("crm_?", "*", "crm"),
}

CASES = [
    # (schema, table, expected, why)
    ("shop_1", "order_2", ("shop", "orders"), "table-level rule wins over schema-level"),
    ("shop_1", "user", ("shop", "user"), "schema-level rule; empty target-table keeps the name"),
    ("shop_1", "", ("shop", ""), "schema-only names use schema-level rules"),
    ("crm_1", "t", ("crm", "t"), "table-level rule with empty target-table"),
    ("crm_12", "t", ("crm_12", "t"), "? is exactly one character: no match"),
    ("other", "t", ("other", "t"), "no rule: unchanged"),
    ("", "t", ("", "t"), "no schema: unchanged"),
    ("SHOP_1", "ORDER_2", ("shop", "orders"), "case folded, targets as written"),
    ("SHOP_1", "User", ("shop", "User"), "kept names keep their case"),
]


@pytest.mark.parametrize(("schema", "table", "expected", "why"), CASES)
def test_route(schema: str, table: str, expected: tuple[str, str], why: str) -> None:
    assert TableRouter(SHARDS).route(schema, table) == expected, why


def test_case_sensitive_patterns() -> None:
    router = TableRouter({"r": Route("Shop", "", "s")}, case_sensitive=True)
    assert router.route("Shop", "t") == ("s", "t")
    assert router.route("shop", "t") == ("shop", "t")


def test_schema_rule_target_table_applies_to_schema_only_names_too() -> None:
    # DM returns the schema rule's target-table even for an empty table name.
    router = TableRouter({"r": Route("db", "", "x", "y")})
    assert router.route("db", "") == ("x", "y")
    assert router.route("db", "t") == ("x", "y")


def test_table_rules_do_not_apply_to_schema_only_names() -> None:
    router = TableRouter({"t": Route("db", "*", "x", "y")})
    assert router.route("db", "") == ("db", "")


@pytest.mark.parametrize(
    ("rules", "schema", "table", "level"),
    [
        ({"a": Route("db*", "", "x"), "b": Route("d*", "", "y")}, "db", "t", "schema"),
        ({"a": Route("db", "t*", "x"), "b": Route("db", "?", "y")}, "db", "t", "table"),
        ({"a": Route("d*", "", "x"), "b": Route("db", "", "y")}, "db", "", "schema"),
    ],
)
def test_two_matches_at_one_level_is_an_error(
    rules: dict[str, Route], schema: str, table: str, level: str
) -> None:
    router = TableRouter(rules)
    with pytest.raises(errors.DMError) as info:
        router.route(schema, table)
    assert info.value.code == errors.ROUTE_DUP_MATCH.code
    assert f"`{schema}`.`{table}`" in info.value.message
    assert f"{level}-level" in info.value.message
    assert "a, b" in info.value.message
    with pytest.raises(errors.DMError):  # cached errors are raised again
        router.route(schema, table)


def test_one_table_match_beats_many_schema_matches() -> None:
    rules = {"s1": Route("db*", "", "x"), "s2": Route("d*", "", "y"), "t": Route("db", "t", "z")}
    assert TableRouter(rules).route("db", "t") == ("z", "t")


def test_results_are_cached() -> None:
    router = TableRouter(SHARDS)
    router.route("shop_1", "order_2")
    assert router._cache[("shop_1", "order_2")] == ("shop", "orders")


@pytest.mark.parametrize(
    ("rules", "detail"),
    [
        ({"r": Route("", "", "x")}, "schema-pattern must not be empty"),
        ({"r": Route("db", "", "")}, "target-schema must not be empty"),
        ({"r": Route("d*b", "", "x")}, "may only be the last character"),
        ({"a": Route("db", "t", "x"), "r": Route("DB", "T", "y")}, "same schema-pattern"),
    ],
)
def test_bad_rules_are_coded_errors(rules: dict[str, Route], detail: str) -> None:
    with pytest.raises(errors.DMError) as info:
        TableRouter(rules)
    assert info.value.code == errors.CONFIG_TABLE_ROUTER.code
    assert info.value.message.startswith("routes.r: ")
    assert detail in info.value.message


def test_extract_writes_regexp_groups_of_the_names_into_extra_columns() -> None:
    """DM 5.4+: table, schema and source in that order; the groups of the first match
    joined; no match gives ""; the regexps see the names as written upstream."""
    rules = {"t": Route("shop_*", "order_*", "shop", "orders",
                        extract_table=Extract(r"order_(\d+)", "c_table"),
                        extract_schema=Extract(r"(s)hop_(.*)", "c_schema"),
                        extract_source=Extract(r"mysql-(\d+)", "c_source")),
             "s": Route("shop_*", "", "shop")}
    router = TableRouter(rules, source_id="mysql-07")
    assert router.extension("Shop_2", "ORDER_15") is not None
    ext = router.extension("shop_2", "order_15")
    assert ext is not None and ext.columns == ("c_table", "c_schema", "c_source")
    assert ext.values == ("15", "s2", "07")
    unmatched = router.extension("shop_x", "order_a")
    assert unmatched is not None and unmatched.values == ("", "sx", "07")
    assert router.extension("shop_2", "user") is None  # its rule extracts nothing
    assert router.extension("other", "order_1") is None
    assert TableRouter({"s": Route("shop_*", "", "shop")}).extension("shop_1", "t") is None
