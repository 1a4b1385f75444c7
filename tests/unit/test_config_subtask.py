"""dm.config.subtask: per-source configs resolved from a task, and their JSON round trip."""

from datetime import timedelta

from dm.config import parse_source_config
from dm.config.subtask import SubTaskConfig, build_subtask
from dm.config.task import parse_task_config

TASK = """\
name: shop
task-mode: all
case-sensitive: false
shadow-table-rules: ["_(.+)_new"]
ignore-checking-items: [version]
target-database: {host: tidb, port: 4000, user: root, password: secret}
mysql-instances:
  - source-id: s1
    route-rules: [to-shop, orders]
    filter-rules: [no-drop]
    expression-filters: [even]
    block-allow-list: ba
    mydumper-thread: 2
    loader-config-name: fast
    syncer-config-name: slow
    syncer-thread: 3
  - source-id: s2
    meta: {binlog-name: mysql-bin.000001, binlog-pos: 4}
    route-rules: [to-shop]
    loader: {dir: /dump.shop}
routes:
  to-shop: {schema-pattern: "shop_*", target-schema: shop}
  orders: {schema-pattern: "shop_*", table-pattern: "order_*", target-schema: shop,
           target-table: orders}
filters:
  no-drop: {schema-pattern: "shop_*", events: [drop table], action: Ignore}
expression-filter:
  even: {schema: shop_1, table: t, insert-value-expr: "c % 2 = 0"}
block-allow-list:
  ba: {do-dbs: ["shop_*"]}
loaders:
  fast: {pool-size: 32}
syncers:
  slow: {worker-count: 1, checkpoint-flush-interval: 10}
"""

SOURCE = """\
source-id: s1
flavor: mariadb
server-id: 7
enable-gtid: true
case-sensitive: true
relay-dir: /relay
from: {host: db1, user: dm, password: /Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=}
filters:
  - {schema-pattern: "shop_*", events: [truncate table], action: Ignore}
  - {schema-pattern: "crm", action: Do}
"""


def subtasks() -> list[SubTaskConfig]:
    return parse_task_config(TASK, "task.yaml", accept_unsupported=True).subtask_configs()


def test_one_subtask_per_instance_with_resolved_rules() -> None:
    first, second = subtasks()
    assert (first.name, first.mode, first.source_id) == ("shop", "all", "s1")
    assert list(first.routes) == ["to-shop", "orders"]
    assert first.routes["orders"].target_table == "orders"
    assert list(first.filters) == ["no-drop"] and list(first.expression_filters) == ["even"]
    assert first.block_allow_list is not None and first.block_allow_list.do_dbs == ["shop_*"]
    assert first.ignore_checking_items == ["version"] and first.meta is None
    assert first.to.host == "tidb" and first.to.plain_password() == "secret"
    assert list(second.routes) == ["to-shop"] and second.block_allow_list is None
    assert second.meta is not None and second.meta.binlog_pos == 4


def test_effective_unit_settings() -> None:
    first, second = subtasks()
    assert first.mydumper.threads == 2 and first.mydumper.chunk_filesize == "64"
    assert first.loader.pool_size == 32 and first.loader.dir == "./dumped_data.shop"
    assert first.syncer.worker_count == 3 and first.syncer.queue_size == 1024
    assert first.syncer.safe_mode_duration == timedelta(seconds=20)
    assert second.loader.dir == "/dump.shop"  # already ends with .<task>
    assert second.syncer.worker_count == 16


def test_online_ddl_rules_are_anchored_or_defaulted() -> None:
    first, _ = subtasks()
    assert first.shadow_table_rules == ["^_(.+)_new$"]
    assert first.trash_table_rules == ["^_(.+)_(?:ghc|del|old)$"]


def test_json_round_trip() -> None:
    for sub in subtasks():
        text = sub.model_dump_json()
        assert '"safe-mode-duration":"20s"' in text or '"safe-mode-duration":"1m0s"' in text
        assert SubTaskConfig.model_validate_json(text) == sub


def test_with_source() -> None:
    first, _ = subtasks()
    source = parse_source_config(SOURCE, "source.yaml", accept_unsupported=True)
    full = first.with_source(source, use_relay=True)
    assert full.from_ is not None and full.from_.plain_password() == "123456"
    assert (full.flavor, full.server_id, full.enable_gtid) == ("mariadb", 7, True)
    assert full.relay_dir == "/relay" and full.use_relay
    assert full.case_sensitive  # task false OR source true
    # the source rule on shop_* clashes with the task's no-drop and loses; crm is added
    assert list(full.filters) == ["no-drop", "source-filter-1"]
    assert SubTaskConfig.model_validate_json(full.model_dump_json()) == full
    assert first.from_ is None  # the original is untouched


def test_rules_built_from_a_subtask() -> None:
    first, second = subtasks()
    assert first.router().route("shop_1", "order_9") == ("shop", "orders")
    assert first.router().route("shop_1", "user") == ("shop", "user")
    assert first.ba_list().allows("shop_2", "t") and not first.ba_list().allows("crm", "t")
    assert second.ba_list().allows("crm", "t")


def test_masked_copy_hides_passwords() -> None:
    first, _ = subtasks()
    full = first.with_source(parse_source_config(SOURCE, "source.yaml", accept_unsupported=True))
    shown = full.masked().model_dump_json()
    assert "secret" not in shown and "/Q7B9" not in shown and "******" in shown
    assert "secret" not in repr(full)


def test_build_subtask_directly() -> None:
    task = parse_task_config(TASK, "task.yaml", accept_unsupported=True)
    assert build_subtask(task, task.mysql_instances[1]).source_id == "s2"
