"""Which secondary indexes the loader builds after the rows, and which it must not."""

from dm.load.indexes import split_secondary_indexes

SYSBENCH = """CREATE TABLE `sbtest1` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `k` int(11) NOT NULL DEFAULT 0,
  `c` char(120) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `k_1` (`k`)
) ENGINE=InnoDB AUTO_INCREMENT=1000001 DEFAULT CHARSET=utf8mb4"""


def test_plain_keys_are_deferred_and_the_create_stays_valid() -> None:
    create, later = split_secondary_indexes(SYSBENCH)
    assert later == ["ADD KEY `k_1` (`k`)"]
    assert "KEY `k_1`" not in create
    assert "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB" in create


def test_unique_keys_stay() -> None:
    create = SYSBENCH.replace("KEY `k_1`", "UNIQUE KEY `k_1`")
    assert split_secondary_indexes(create) == (create, [])


def test_key_of_an_auto_increment_column_stays() -> None:
    create = """CREATE TABLE `t` (
  `a` int(11) NOT NULL AUTO_INCREMENT,
  `b` int(11) DEFAULT NULL,
  KEY `a` (`a`),
  KEY `b` (`b`, `a`)
) ENGINE=InnoDB"""
    kept, later = split_secondary_indexes(create)
    assert later == ["ADD KEY `b` (`b`, `a`)"]
    assert "  KEY `a` (`a`)\n) ENGINE" in kept


def test_nothing_deferred_with_foreign_keys() -> None:
    create = SYSBENCH.replace("  KEY `k_1` (`k`)", "  KEY `k_1` (`k`),\n  CONSTRAINT `f` "
                              "FOREIGN KEY (`k`) REFERENCES `p` (`id`)")
    assert split_secondary_indexes(create) == (create, [])


def test_quoted_names_and_prefix_keys() -> None:
    create = """CREATE TABLE `t` (
  `we``ird` varchar(100) DEFAULT NULL,
  KEY `i``x` (`we``ird`(10)) COMMENT 'c'
) ENGINE=InnoDB"""
    kept, later = split_secondary_indexes(create)
    assert later == ["ADD KEY `i``x` (`we``ird`(10)) COMMENT 'c'"]
    assert kept.endswith("  `we``ird` varchar(100) DEFAULT NULL\n) ENGINE=InnoDB")
