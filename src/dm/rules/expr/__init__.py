"""Expression filters (`expression-filter`): skip row changes matching a SQL condition.

Semantics, after DM's syncer (`expr_filter_group.go`):

* A filter applies to exactly one upstream table, named by `schema` and `table`
  (plain names, no wildcards; compared case-insensitively unless case-sensitive).
* The expression for the change's kind is evaluated on the row (the new row of an
  INSERT, the old row of a DELETE). A TRUE result skips the change; FALSE and NULL
  keep it.
* UPDATE is skipped only when the old row matches `update-old-value-expr` AND the new
  row matches `update-new-value-expr`; an omitted side counts as TRUE, but a filter
  with neither side does not look at updates at all.
* Several filters on one table: the change is skipped when any of them says so.

Expressions are parsed once with sqlglot's MySQL dialect and compiled once per table
version (`TableInfo` identity) into closures over the row tuple. The supported subset
(anything else is a coded error naming the filter, table and expression):

* column references (case-insensitive, optionally qualified by the table name),
  literals (numbers, strings, NULL, TRUE/FALSE, hex and bit strings), `DATE '...'`,
  `TIMESTAMP '...'`, `TIME '...'`;
* `= <> != < <= > >= <=>`, `AND OR XOR NOT`, `IS [NOT] NULL|TRUE|FALSE|UNKNOWN`,
  `[NOT] IN (...)`, `[NOT] BETWEEN`, `[NOT] LIKE ... [ESCAPE ...]`;
* `+ - * / DIV % MOD`, unary minus, parentheses;
* LENGTH/OCTET_LENGTH, CHAR_LENGTH, LOWER/LCASE, UPPER/UCASE, CONCAT,
  SUBSTRING/SUBSTR/MID, TRIM, ABS, IFNULL, COALESCE, IF, CAST/CONVERT to
  CHAR/BINARY/SIGNED/UNSIGNED/DECIMAL/DOUBLE/DATE/DATETIME/TIME, `BINARY x`,
  `x COLLATE name`.

Values follow MySQL: three-valued logic (NULL propagates, NOT NULL is NULL); numbers
compare as numbers whatever their Python type (int, Decimal, float); strings compare
under the collation that wins (`Coll`): the column's, exactly where dm.core.collation has
its weights, else case-insensitively with trailing spaces ignored (PAD SPACE), or by code
point for binary collations (`*_bin`, `*_cs`); bytes compare bytewise; a number
against a string converts the string to a number (its longest numeric prefix); dates
and times against strings or numbers convert those to temporal values (falling back
to comparing text when they do not parse). Division by zero is NULL; `/` keeps four
more decimals than the dividend, as MySQL's div_precision_increment does.

The modules, each importing only those before it: `values` (coercion), `collations`
(comparison domains, `Coll`, LIKE), `nodes` (compiled closures), then a module of node
builders per kind of operator (`arithmetic`, `strings`, `logic`, `comparisons`, `casts`),
`compiler` (sqlglot expression to node), `parse` (the one parse, also config validation's)
and `filters` (the public `ExpressionFilters`).
"""

from __future__ import annotations

from dm.rules.expr.filters import ExpressionFilters, FilteredChange
from dm.rules.expr.parse import expression_problem

__all__ = ["ExpressionFilters", "FilteredChange", "expression_problem"]
