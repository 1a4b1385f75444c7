"""Every key pydm does not act on yet is refused with 20090, naming the file, line and key."""

from __future__ import annotations

import pytest

from dm import errors
from dm.config import parse_source_config, parse_task_config
from dm.config.extraargs import parse_extra_args

TASK = """\
name: t
task-mode: all
target-database: {host: 127.0.0.1, port: 4000, user: root}
mysql-instances:
  - source-id: s1
    block-allow-list: b
block-allow-list:
  b: {do-dbs: [db]}
"""


def using(ref: str, section: str) -> str:
    """TASK whose instance refers to `section` (given after it) with `ref`."""
    instance = "    block-allow-list: b\n"
    return TASK.replace(instance, f"{instance}    {ref}\n") + section


SOURCE = """\
source-id: s1
from: {host: 127.0.0.1, port: 3306, user: root}
"""

TASK_CASES = [
    (TASK + "collation_compatible: strict\n", 9, "collation_compatible"),
    (using("mydumper-config-name: d", "mydumpers:\n  d: {extra-args: '-f db.*'}\n"), 11,
     "mydumpers.d.extra-args"),
    (using("mydumper: {extra-args: '--consistency snapshot'}", ""), 7,
     "mysql-instances[0].mydumper.extra-args"),
]


@pytest.mark.parametrize(("text", "line", "key"), TASK_CASES, ids=[c[2] for c in TASK_CASES])
def test_task_key_is_refused(text: str, line: int, key: str) -> None:
    with pytest.raises(errors.DMError) as info:
        parse_task_config(text, "task.yaml")
    assert info.value.code == errors.CONFIG_NOT_SUPPORTED.code
    lines = info.value.message.splitlines()
    assert any(x.startswith(f"task.yaml:{line}: {key}: ") for x in lines), lines
    assert all("is not supported by pydm yet" in x for x in lines), lines


SOURCE_CASES = [
    (SOURCE + "auto-fix-gtid: true\n", 3, "auto-fix-gtid"),
]


@pytest.mark.parametrize(("text", "line", "key"), SOURCE_CASES, ids=[c[2] for c in SOURCE_CASES])
def test_source_key_is_refused(text: str, line: int, key: str) -> None:
    with pytest.raises(errors.DMError) as info:
        parse_source_config(text, "source.yaml")
    assert info.value.code == errors.CONFIG_NOT_SUPPORTED.code
    assert info.value.message.startswith(f"source.yaml:{line}: {key}: "), info.value.message


def test_inline_tls_material_and_allowed_cns_are_accepted() -> None:
    """They work now (docs/configuration.md): endpoint() turns them into private files."""
    parse_task_config(TASK.replace("user: root}", "user: root, security: {ssl-ca-bytes: abc, "
                                   "cert-allowed-cn: [x], ssl-key-base64: YWJj}}"), "task.yaml")
    parse_source_config(SOURCE.replace("user: root}", "user: root, security: "
                                       "{ssl-key-bytes: k}}"), "source.yaml")
    with pytest.raises(errors.DMError) as info:
        parse_source_config(SOURCE.replace("user: root}", "user: root, security: "
                                           "{ssl-ca-base64: 'not base64!'}}"), "source.yaml")
    assert "from.security.ssl-ca-base64: not base64" in info.value.message


def test_defaults_and_supported_values_are_accepted() -> None:
    text = using("loader: {on-duplicate: replace}", "")
    parse_task_config(using("mydumper: {extra-args: '--consistency flush -t 8 -r 1000 -F 64MiB"
                            " -s 1000000'}", ""), "task.yaml")
    parse_task_config(text, "task.yaml")
    parse_source_config(SOURCE + "enable-relay: false\nchecker:\n  check-enable: false\n",
                        "source.yaml")
    relay = parse_source_config(SOURCE + "enable-relay: true\nrelay-dir: /data/relay\n"
                                "relay-binlog-name: mysql-bin.000002\n"
                                "relay-binlog-gtid: '0-1-5'\n", "source.yaml")
    assert (relay.enable_relay, relay.relay_dir, relay.relay_binlog_name) == (
        True, "/data/relay", "mysql-bin.000002")  # the relay log (docs/relay.md)


@pytest.mark.parametrize(("args", "consistency", "threads", "rows", "bad"), [
    ("", "auto", None, None, []),
    ("--no-locks", "none", None, None, []),
    ("--consistency=none -t 2", "none", 2, None, []),
    ("--consistency flush --threads=3 -r 500", "flush", 3, 500, []),
    ("--escape-backslash --transactional-consistency -W -F 1GiB --statement-size=5",
     "auto", None, None, []),
    ("-B db -T db.t --where id>1", "auto", None, None, []),
    ("--consistency lock", "lock", None, None, []),
    ("--consistency=snapshot --snapshot 123", "auto", None, None,
     ["--consistency snapshot", "--snapshot", "123"]),
    ("-T t_without_db -f db.* --ca ca.pem", "auto", None, None,
     ["-T t_without_db", "-f", "db.*", "--ca", "ca.pem"]),
])
def test_extra_args(args: str, consistency: str, threads: int | None, rows: int | None,
                    bad: list[str]) -> None:
    parsed = parse_extra_args(args)
    assert (parsed.consistency, parsed.threads, parsed.rows, parsed.unsupported) == (
        consistency, threads, rows, bad)


def test_extra_args_are_split_as_dm_splits_them_and_filter_the_dump_as_dumpling_does(
        ) -> None:
    parsed = parse_extra_args("--where='id>1' -B a,b --where \"id<5\"")
    assert (parsed.where, parsed.databases, parsed.unsupported) == ("id<5", ["a", "b"], [])

    def everything(schema: str, table: str) -> bool:
        return schema != "blocked"
    narrowed = parse_extra_args("-B a,blocked").dump_filter(everything)
    assert [narrowed(*n) for n in (("a", "t"), ("b", "t"), ("blocked", "t"))] == [
        True, False, False]
    replaced = parse_extra_args("--tables-list=blocked.t,a.u").dump_filter(everything)
    assert [replaced(*n) for n in (("blocked", "t"), ("blocked", ""), ("a", "t"),
                                   ("a", "u"), ("c", ""))] == [True, True, False, True, False]
    names = ("a", "b", "blocked", "c")
    assert [d for d in names if parse_extra_args("-B a,blocked").database_filter(
        lambda d: d != "blocked")(d)] == ["a"]
    assert [d for d in names if parse_extra_args("-T blocked.t,a.u").database_filter(
        lambda d: d != "blocked")(d)] == ["a", "blocked"]
    assert [d for d in names if parse_extra_args("").database_filter(
        lambda d: d != "c")(d)] == ["a", "b", "blocked"]


@pytest.mark.parametrize("text", [
    TASK.replace("task-mode: all", "task-mode: dump"),
    TASK.replace("task-mode: all", "task-mode: load"),
    TASK.replace("task-mode: all", "task-mode: load&sync"),
    using("loader-config-name: l", "loaders:\n  l: {on-duplicate: error}\n"),
    using("loader: {on-duplicate-logical: ignore}", ""),
    using("mydumper-config-name: d", "mydumpers:\n  d: {where: 'id > 10'}\n"),
    using("column-mapping-rules: [cm]", "column-mappings:\n  cm: {schema-pattern: db, "
          "table-pattern: t, expression: partition id, source-column: id, target-column: id, "
          "arguments: ['1', '', 't_']}\n"),
    using("mydumper: {extra-args: '--consistency lock -B db -T db.t --where=id>1'}", ""),
])
def test_built_features_are_no_longer_refused(text: str) -> None:
    parse_task_config(text, "task.yaml")
