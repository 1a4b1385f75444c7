"""dmctl: DM's command line. Prints DM-shaped JSON; exits 1 when `result` is false."""

from __future__ import annotations

import json
import os
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from click.decorators import FC

from dm import __version__, errors
from dm.clustertls import ClusterTLS
from dm.config.duration import parse_go_duration

TASK_FILE_SUFFIXES = (".yaml", ".yml")


def _fail(exc: errors.DMError) -> NoReturn:
    click.echo(json.dumps({"result": False, "msg": str(exc)}, indent=4))
    sys.exit(1)


def _read(path: str) -> dict[str, str]:
    try:
        return {"name": path, "text": Path(path).read_text()}
    except OSError as exc:
        _fail(errors.CONFIG_READ_FILE(exc, file=path))


def _task_name(arg: str) -> str:
    """A `<task-name | task-file>` argument: read `name:` from a file, as DM does."""
    if arg.endswith(TASK_FILE_SUFFIXES) and Path(arg).is_file():
        from dm.config.task import parse_task_config
        try:
            return parse_task_config(Path(arg).read_text(), arg).name
        except errors.DMError as exc:
            _fail(exc)
    return arg


class Ctl:
    def __init__(self, master_addr: str, output: str, timeout: float = 600.0,
                 tls: ClusterTLS | None = None) -> None:
        self.master_addr = master_addr
        self.output = output
        self.timeout = timeout
        self.tls = tls or ClusterTLS()

    def ask(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """Ask the masters of `--master-addr a,b,...` in turn; the first that answers."""
        data = json.dumps(body).encode()
        failure: BaseException | None = None
        for addr in [a.strip() for a in self.master_addr.split(",") if a.strip()]:
            request = urllib.request.Request(self.tls.url(addr, f"/dmctl/{command}"),
                                             data=data, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout,
                                            context=self.tls.client_context()) as resp:
                    answer: dict[str, Any] = json.loads(resp.read())
                return answer
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failure = exc
        _fail(errors.CTL_CONNECT(failure, addr=self.master_addr))

    def call(self, command: str, body: dict[str, Any]) -> None:
        answer = self.ask(command, body)
        if self.output == "table":
            from dm.ctl.view import render_table  # rich: loaded only for people's tables
            click.echo(render_table(command, answer))
        else:
            click.echo(json.dumps(answer, indent=4, ensure_ascii=False))
        if not answer.get("result"):
            sys.exit(1)


pass_ctl = click.make_pass_decorator(Ctl)
source_option = click.option("-s", "--source", "sources", multiple=True,
                             help="limit to these source ids (repeatable)")


_CONFIG_KEYS = ("master-addr", "rpc-timeout", "ssl-ca", "ssl-cert", "ssl-key")


def _config_file(path: str) -> dict[str, str]:
    """DM's dmctl `--config` TOML: the global flags' keys (a flag given wins)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        _fail(errors.CONFIG_READ_FILE(exc, file=path))
    except tomllib.TOMLDecodeError as exc:
        _fail(errors.CONFIG_YAML(exc, file=path, line="?", detail="invalid TOML"))
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        _fail(errors.CTL_ARGS(detail=f"{path}: unknown keys {unknown}; dmctl's config file "
                                     f"takes {list(_CONFIG_KEYS)}"))
    return {k: str(v) for k, v in data.items()}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--master-addr", "-master-addr",
              help="dm-master address(es), comma-separated (else --config's, else "
              "DM_MASTER_ADDR)")
@click.option("--output", "-o", type=click.Choice(["json", "table"]), default="json",
              show_default=True, help="json as DM prints it, or a human table")
@click.option("--rpc-timeout", help="how long to wait for dm-master's answer (Go duration, "
              "default 10m)")
@click.version_option(__version__, "-V", "--version", prog_name="dmctl (pydm)")
@click.option("--ssl-ca", help="CA of the cluster's TLS: talk to dm-master over TLS")
@click.option("--ssl-cert", help="dmctl's certificate, signed by that CA")
@click.option("--ssl-key", help="its private key")
@click.option("--config", "config_path", help="a TOML file of these flags' keys "
              "(master-addr, rpc-timeout, ssl-ca, ssl-cert, ssl-key)")
@click.pass_context
def cli(ctx: click.Context, master_addr: str | None, output: str, rpc_timeout: str | None,
        ssl_ca: str | None, ssl_cert: str | None, ssl_key: str | None,
        config_path: str | None) -> None:
    """Control a pydm (DM) cluster."""
    given = {"master-addr": master_addr, "rpc-timeout": rpc_timeout, "ssl-ca": ssl_ca,
             "ssl-cert": ssl_cert, "ssl-key": ssl_key}
    keys = {"master-addr": os.environ.get("DM_MASTER_ADDR", ""),  # the last resort, as DM
            **(_config_file(config_path) if config_path else {}),
            **{k: v for k, v in given.items() if v}}
    if ctx.invoked_subcommand not in ("encrypt", "decrypt") and not keys.get("master-addr"):
        _fail(errors.CTL_ARGS(detail="--master-addr (or DM_MASTER_ADDR) is required"))
    try:
        timeout = parse_go_duration(keys.get("rpc-timeout", "10m")).total_seconds()
    except ValueError as exc:
        _fail(errors.CTL_ARGS(detail=f"--rpc-timeout {keys.get('rpc-timeout')!r}: {exc}"))
    tls = ClusterTLS(keys.get("ssl-ca", ""), keys.get("ssl-cert", ""), keys.get("ssl-key", ""))
    problem = tls.problem()
    if problem is not None:
        _fail(errors.CTL_ARGS(detail=problem))
    ctx.obj = Ctl(keys.get("master-addr", ""), output, timeout, tls)


@cli.command("operate-source")
@click.argument("op", type=click.Choice(["create", "update", "stop", "show"]))
@click.argument("files_or_ids", nargs=-1)
@source_option
@pass_ctl
def operate_source(ctl: Ctl, op: str, files_or_ids: tuple[str, ...],
                   sources: tuple[str, ...]) -> None:
    """create|stop|show sources (create takes source.yaml files)."""
    if op in ("create", "update"):
        if not files_or_ids:
            _fail(errors.CTL_ARGS(detail=f"operate-source {op} needs a source.yaml"))
        ctl.call("operate-source", {"op": op, "files": [_read(f) for f in files_or_ids]})
        return
    ids = list(sources)
    for arg in files_or_ids:  # DM accepts the source file in place of its id
        if arg.endswith(TASK_FILE_SUFFIXES) and Path(arg).is_file():
            from dm.config.source import parse_source_config
            try:
                ids.append(parse_source_config(Path(arg).read_text(), arg).source_id)
            except errors.DMError as exc:
                _fail(exc)
        else:
            ids.append(arg)
    ctl.call("operate-source", {"op": op, "sources": ids})


@cli.command("start-task")
@click.argument("task_file")
@click.option("--remove-meta", is_flag=True, help="drop the task's checkpoints first")
@source_option
@pass_ctl
def start_task(ctl: Ctl, task_file: str, remove_meta: bool, sources: tuple[str, ...]) -> None:
    """Precheck and start a task from task.yaml."""
    ctl.call("start-task", {"file": _read(task_file), "remove_meta": remove_meta,
                            "sources": list(sources)})


@cli.command("check-task")
@click.argument("task_file")
@click.option("-e", "--error", "max_errors", default=10, help="max errors shown")
@click.option("-w", "--warn", "max_warnings", default=10, help="max warnings shown")
@pass_ctl
def check_task(ctl: Ctl, task_file: str, max_errors: int, max_warnings: int) -> None:
    """Run the precheck of task.yaml without starting it."""
    ctl.call("check-task", {"file": _read(task_file), "error": max_errors,
                            "warn": max_warnings})


def _operate(op: str) -> click.Command:
    @click.argument("task")
    @source_option
    @pass_ctl
    def command(ctl: Ctl, task: str, sources: tuple[str, ...]) -> None:
        ctl.call("operate-task", {"op": op, "task": _task_name(task), "sources": list(sources)})
    command.__doc__ = f"{op.capitalize()} a task (name or task.yaml)."
    return click.command(f"{op}-task")(command)


for _op in ("stop", "pause", "resume"):
    cli.add_command(_operate(_op))


@cli.command("query-status")
@click.argument("task", required=False)
@source_option
@click.option("--more", is_flag=True, help="without a task: every subtask's status per "
                                           "source, not the list of tasks")
@click.option("--watch", is_flag=True, help="redraw a live table with progress bars until "
                                            "every subtask is Finished, Paused or Stopped")
@pass_ctl
def query_status(ctl: Ctl, task: str | None, sources: tuple[str, ...], more: bool,
                 watch: bool) -> None:
    """Status of all tasks, or of one task per source."""
    body = {"task": _task_name(task) if task else None, "sources": list(sources),
            "more": more}
    if watch and task:
        from dm.ctl.view import watch_status
        watch_status(lambda: ctl.ask("query-status", body))
    else:
        ctl.call("query-status", body)


@cli.command("list-member")
@click.option("--leader", is_flag=True)
@click.option("--master", is_flag=True)
@click.option("--worker", is_flag=True)
@click.option("-n", "--name", "names", multiple=True)
@pass_ctl
def list_member(ctl: Ctl, leader: bool, master: bool, worker: bool,
                names: tuple[str, ...]) -> None:
    """Masters, workers and the leader."""
    ctl.call("list-member", {"leader": leader, "master": master, "worker": worker,
                             "names": list(names)})


@cli.command("offline-member")
@click.option("--master", is_flag=True, help="remove a dm-master's etcd member")
@click.option("--worker", is_flag=True, help="remove an offline dm-worker's registration")
@click.option("-n", "--name", required=True, help="the member's name")
@pass_ctl
def offline_member(ctl: Ctl, master: bool, worker: bool, name: str) -> None:
    """Remove a master or an offline worker from the cluster."""
    if master == worker:
        _fail(errors.CTL_ARGS(detail="offline-member takes one of --master or --worker"))
    ctl.call("offline-member", {"kind": "master" if master else "worker", "name": name})


@cli.command("operate-leader")
@click.argument("op", type=click.Choice(["evict", "cancel-evict"]))
@pass_ctl
def operate_leader(ctl: Ctl, op: str) -> None:
    """evict: the master asked (the first of --master-addr that answers) resigns the
    leadership and stops campaigning; cancel-evict: it campaigns again."""
    ctl.call("operate-leader", {"op": op})


@cli.command("transfer-source")
@click.argument("source")
@click.argument("worker")
@pass_ctl
def transfer_source(ctl: Ctl, source: str, worker: str) -> None:
    """Bind a source to a free worker; its running tasks must be in the sync unit (they
    are paused, moved and resumed)."""
    ctl.call("transfer-source", {"source": source, "worker": worker})


def _relay(op: str, doc: str) -> click.Command:
    @click.argument("workers", nargs=-1)
    @source_option
    @pass_ctl
    def command(ctl: Ctl, workers: tuple[str, ...], sources: tuple[str, ...]) -> None:
        if op in ("pause", "resume") and workers:
            _fail(errors.CTL_ARGS(detail=f"{op}-relay takes no worker names"))
        ctl.call("operate-relay", {"op": op, "sources": list(sources),
                                   "workers": list(workers)})
    command.__doc__ = doc
    return click.command(f"{op}-relay")(command)


for _op, _doc in (("start", "Start the relay log of a source (-s) on the worker bound to "
                            "it (named, or none)."),
                  ("stop", "Stop the relay log of a source (-s); its files stay."),
                  ("pause", "Pause the relay log of sources (-s)."),
                  ("resume", "Resume the relay log of sources (-s).")):
    cli.add_command(_relay(_op, _doc))


@cli.command("purge-relay")
@click.option("-s", "--source", "sources", multiple=True, required=True,
              help="the source whose relay log is purged")
@click.option("-f", "--filename", required=True,
              help="delete the relay files before this binlog file")
@click.option("--sub-dir", default="", help="the relay sub-directory (default: the newest)")
@pass_ctl
def purge_relay(ctl: Ctl, sources: tuple[str, ...], filename: str, sub_dir: str) -> None:
    """Delete a source's relay files before a binlog file, never one a task still needs."""
    if len(sources) != 1:
        _fail(errors.CTL_ARGS(detail="purge-relay takes exactly one -s <source>"))
    ctl.call("purge-relay", {"source": sources[0], "filename": filename, "sub_dir": sub_dir})


CONFIG_KINDS = ("task", "source", "master", "worker")


def _get_config(ctl: Ctl, kind: str, name: str, path: str) -> None:
    """get-config, its `cfg` also written to `path` when one is given."""
    if not path:
        ctl.call("get-config", {"kind": kind, "name": name})
        return
    answer = ctl.ask("get-config", {"kind": kind, "name": name})
    if answer.get("result"):
        _write(Path(path), str(answer["cfg"]))
        answer = {"result": True, "msg": f"write config to file {path} succeed"}
    click.echo(json.dumps(answer, indent=4))
    if not answer.get("result"):
        sys.exit(1)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        _fail(errors.CONFIG_READ_FILE(exc, file=str(path)))


@cli.command("get-config")
@click.argument("kind", type=click.Choice(CONFIG_KINDS))
@click.argument("name")
@click.option("-f", "--file", "path", default="", help="also write the config to this file")
@pass_ctl
def get_config(ctl: Ctl, kind: str, name: str, path: str) -> None:
    """The config of a task or source (passwords masked), or the one a dm-master or
    dm-worker runs with."""
    _get_config(ctl, kind, name, path)


@cli.command("get-task-config", hidden=True)
@click.argument("name")
@click.option("-f", "--file", "path", default="")
@pass_ctl
def get_task_config(ctl: Ctl, name: str, path: str) -> None:
    """DM 2.0's name for `get-config task <name>`."""
    _get_config(ctl, "task", name, path)


@cli.command("config")
@click.argument("kind", type=click.Choice([*CONFIG_KINDS, "export", "import"]))
@click.argument("name", required=False)
@click.option("-p", "--path", "path", default="", help="a file (show) or a directory "
              "(export, import; default `configs`)")
@click.option("-d", "--dir", "old_dir", default="", hidden=True)  # DM 2.0.5-2.0.7
@pass_ctl
def config(ctl: Ctl, kind: str, name: str | None, path: str, old_dir: str) -> None:
    """`config task|source|master|worker <name> [-p file]` shows a config (as get-config);
    `config export [-p dir]` writes every source and task to dir/sources/*.yaml and
    dir/tasks/*.yaml (passwords encrypted); `config import [-p dir]` creates those sources
    and starts those tasks."""
    if kind in CONFIG_KINDS:
        if not name:
            _fail(errors.CTL_ARGS(detail=f"config {kind} needs a name"))
        _get_config(ctl, kind, name, path)
        return
    directory = Path(path or old_dir or "configs")
    if kind == "export":
        _export(ctl, directory)
    else:
        _import(ctl, directory)


def _export(ctl: Ctl, directory: Path) -> None:
    answer = ctl.ask("config-export", {})
    if not answer.get("result"):
        click.echo(json.dumps(answer, indent=4))
        sys.exit(1)
    for kind in ("sources", "tasks"):
        for name, text in answer[kind].items():
            _write(directory / kind / f"{name}.yaml", str(text))
    msg = f"export configs to directory `{directory}` succeed"
    click.echo(json.dumps({"result": True, "msg": "\n".join(filter(None, [
        msg, str(answer.get("msg") or "")]))}, indent=4))


def _import(ctl: Ctl, directory: Path) -> None:
    """Sources first, then tasks; each answer kept, the first failure ends it."""
    if not directory.is_dir():
        _fail(errors.CTL_ARGS(detail=f"config import: no directory {directory}"))
    done = []
    for path in sorted((directory / "sources").glob("*.yaml")):
        answer = ctl.ask("operate-source", {"op": "create", "files": [_read(str(path))]})
        if not answer.get("result"):
            _fail(errors.CTL_ARGS(detail=f"{path}: {json.dumps(answer)}"))
        done.append(str(path))
    for path in sorted((directory / "tasks").glob("*.yaml")):
        answer = ctl.ask("start-task", {"file": _read(str(path)), "remove_meta": False,
                                        "sources": []})
        if not answer.get("result"):
            _fail(errors.CTL_ARGS(detail=f"{path}: {json.dumps(answer)}"))
        done.append(str(path))
    click.echo(json.dumps({"result": True, "msg": f"import configs from directory "
                                                  f"`{directory}` succeed: {done}"}, indent=4))


@cli.command("encrypt")
@click.argument("text")
def encrypt_cmd(text: str) -> None:
    """Encrypt a password as DM does (for source.yaml / task.yaml)."""
    from dm.config.encrypt import encrypt
    click.echo(encrypt(text))


@cli.command("decrypt")
@click.argument("text")
def decrypt_cmd(text: str) -> None:
    """Decrypt a DM-encrypted password."""
    from dm.config.encrypt import decrypt
    try:
        click.echo(decrypt(text))
    except errors.DMError as exc:
        _fail(exc)


@cli.group("binlog-schema")
def binlog_schema() -> None:
    """Show or replace the table schemas a paused task tracks (per source, -s)."""


def _schema_call(ctl: Ctl, op: str, task: str, sources: tuple[str, ...], database: str,
                 table: str, **extra: Any) -> None:
    ctl.call("operate-schema", {"op": op, "task": _task_name(task), "sources": list(sources),
                                "database": database, "table": table, **extra})


def _schema_text(schema_file: str | None, from_source: bool, from_target: bool) -> str:
    """The statement of `binlog-schema update`: a file's, or none when it is read from the
    source or the target (DM's checks of the three)."""
    if from_source and from_target:
        _fail(errors.CTL_ARGS(detail="from-source and from-target can not be used together"))
    if schema_file and (from_source or from_target):
        _fail(errors.CTL_ARGS(detail="can not set schema-file when use from-source or "
                                     "from-target"))
    if not schema_file:
        if not (from_source or from_target):
            _fail(errors.CTL_ARGS(detail="binlog-schema update needs a schema file, "
                                         "--from-source or --from-target"))
        return ""
    return _read(schema_file)["text"]


def _bool_option(name: str, default: bool, help_text: str = "") -> Callable[[FC], FC]:
    """A cobra-style bool flag: `--x`, `--x=false`, `--x true`."""
    return click.option(name, type=click.BOOL, is_flag=False, flag_value=True,
                        default=default, help=help_text)


def _schema_op(op: str, doc: str) -> click.Command:
    @click.argument("task")
    @click.argument("database")
    @click.argument("table")
    @source_option
    @pass_ctl
    def command(ctl: Ctl, task: str, database: str, table: str,
                sources: tuple[str, ...]) -> None:
        _schema_call(ctl, op, task, sources, database, table)
    command.__doc__ = doc
    return click.command(op)(command)


for _op, _doc in (("list", "The tracked CREATE TABLE of a table (the task must be paused)."),
                  ("delete", "Forget a table's tracked schema: sync starts it again from "
                             "the downstream's.")):
    binlog_schema.add_command(_schema_op(_op, _doc))


@binlog_schema.command("update")
@click.argument("task")
@click.argument("database")
@click.argument("table")
@click.argument("schema_file", required=False)
@source_option
@_bool_option("--flush", True, "always done: the checkpoint is the tracker")
@_bool_option("--sync", True, "an optimistic lock gets the schema at resume; false is "
              "refused (48010)")
@_bool_option("--from-source", False, "take the upstream's CREATE TABLE")
@_bool_option("--from-target", False, "take the downstream's CREATE TABLE")
@pass_ctl
def binlog_schema_update(ctl: Ctl, task: str, database: str, table: str,
                         schema_file: str | None, sources: tuple[str, ...], flush: bool,
                         sync: bool, from_source: bool, from_target: bool) -> None:
    """Replace a table's tracked schema (the task must be paused; resume-task uses it)."""
    del flush
    if not sync:  # an optimistic lock always gets the schema at resume
        _fail(errors.CTL_NOT_SUPPORTED(command="binlog-schema update",
                                       feature="--sync false"))
    text = _schema_text(schema_file, from_source, from_target)
    _schema_call(ctl, "update", task, sources, database, table, schema=text,
                 from_source=from_source, from_target=from_target)


@cli.command("operate-schema")
@click.argument("op", type=click.Choice(["get", "set", "remove"]))
@click.argument("task")
@click.argument("schema_file", required=False)
@source_option
@click.option("-d", "--database", required=True)
@click.option("-t", "--table", required=True)
@_bool_option("--flush", True)
@_bool_option("--sync", True)
@pass_ctl
def operate_schema(ctl: Ctl, op: str, task: str, schema_file: str | None,
                   sources: tuple[str, ...], database: str, table: str, flush: bool,
                   sync: bool) -> None:
    """DM 2.0's name for binlog-schema: get (list), set (update), remove (delete)."""
    del flush
    if op == "set" and not sync:  # as binlog-schema update
        _fail(errors.CTL_NOT_SUPPORTED(command="operate-schema set", feature="--sync false"))
    if op == "set":
        _schema_call(ctl, "update", task, sources, database, table,
                     schema=_schema_text(schema_file, False, False))
    else:
        _schema_call(ctl, {"get": "list", "remove": "delete"}[op], task, sources, database,
                     table)


@cli.group("binlog")
def binlog() -> None:
    """Skip or replace the DDL that paused a task, or the one at a position (-b)."""


def _binlog_call(ctl: Ctl, op: str, task: str, sources: tuple[str, ...], binlog_pos: str,
                 sqls: tuple[str, ...] = ()) -> None:
    from dm.schema.lexer import split_statements  # DM reads `a; b` in one argument too
    statements = [s for text in sqls for s in split_statements(text) if s.strip()]
    ctl.call("binlog", {"op": op, "task": _task_name(task), "sources": list(sources),
                        "binlog_pos": binlog_pos, "sqls": statements})


binlog_pos_option = click.option("-b", "--binlog-pos", default="",
                                 help="the DDL event's position, file:pos (default: the "
                                      "DDL that paused the task)")


def _binlog_op(op: str, doc: str) -> click.Command:
    @click.argument("task")
    @binlog_pos_option
    @source_option
    @pass_ctl
    def command(ctl: Ctl, task: str, binlog_pos: str, sources: tuple[str, ...]) -> None:
        _binlog_call(ctl, op, task, sources, binlog_pos)
    command.__doc__ = doc
    return click.command(op)(command)


for _op, _doc in (("skip", "Skip the DDL (the task resumes)."),
                  ("revert", "Drop an operator not used yet."),
                  ("list", "The operators not used yet, per source (-b: the one there).")):
    binlog.add_command(_binlog_op(_op, _doc))


@binlog.command("replace")
@click.argument("task")
@click.argument("sqls", nargs=-1, required=True)
@binlog_pos_option
@source_option
@pass_ctl
def binlog_replace(ctl: Ctl, task: str, sqls: tuple[str, ...], binlog_pos: str,
                   sources: tuple[str, ...]) -> None:
    """Run these statements instead of the DDL (the task resumes)."""
    _binlog_call(ctl, "replace", task, sources, binlog_pos, sqls)


@cli.command("handle-error")
@click.argument("task")
@click.argument("op", type=click.Choice(["skip", "replace", "revert"]))
@click.argument("sqls", nargs=-1)
@binlog_pos_option
@source_option
@pass_ctl
def handle_error(ctl: Ctl, task: str, op: str, sqls: tuple[str, ...], binlog_pos: str,
                 sources: tuple[str, ...]) -> None:
    """DM 2.0's name for `binlog skip|replace|revert`."""
    _binlog_call(ctl, op, task, sources, binlog_pos, sqls)


def unlock_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of `shard-ddl-lock unlock` and DM 2.0's `unlock-ddl-lock`."""
    for option in reversed((
            click.option("-o", "--owner", default="",
                         help="pessimistic: the source to execute the DDL"),
            click.option("-f", "--force-remove", is_flag=True,
                         help="pessimistic: drop the lock, run nothing"),
            click.option("-a", "--action", type=click.Choice(["skip", "exec"]),
                         default="skip", help="optimistic: skip or execute the shard's DDL"),
            click.option("-d", "--database", default="",
                         help="optimistic: the held shard's database"),
            click.option("-t", "--table", default="", help="optimistic: the held shard"))):
        command = option(command)
    return command


@cli.command("shard-ddl-lock")
@click.argument("args", nargs=-1)
@source_option
@unlock_options
@pass_ctl
def shard_ddl_lock(ctl: Ctl, args: tuple[str, ...], sources: tuple[str, ...], owner: str,
                   force_remove: bool, action: str, database: str, table: str) -> None:
    """`shard-ddl-lock [task]` shows the DDL locks; `shard-ddl-lock unlock <lock-id>`
    resolves one by hand (optimistic: `-s <source> -d <db> -t <table> -a skip|exec` lets
    one held shard go on)."""
    if args[:1] == ("unlock",):
        if len(args) != 2:
            _fail(errors.CTL_ARGS(detail="shard-ddl-lock unlock takes one <lock-id>"))
        _unlock(ctl, args[1], sources, owner, force_remove, action, database, table)
        return
    if len(args) > 1:
        _fail(errors.CTL_ARGS(detail="shard-ddl-lock takes at most one task"))
    ctl.call("show-ddl-locks", {"task": _task_name(args[0]) if args else "",
                                "sources": list(sources)})


@cli.command("show-ddl-locks")
@click.argument("task", required=False)
@source_option
@pass_ctl
def show_ddl_locks(ctl: Ctl, task: str | None, sources: tuple[str, ...]) -> None:
    """DM 2.0's name for `shard-ddl-lock [task]`."""
    ctl.call("show-ddl-locks", {"task": _task_name(task) if task else "",
                                "sources": list(sources)})


@cli.command("unlock-ddl-lock")
@click.argument("lock_id")
@source_option
@unlock_options
@pass_ctl
def unlock_ddl_lock(ctl: Ctl, lock_id: str, sources: tuple[str, ...], owner: str,
                    force_remove: bool, action: str, database: str, table: str) -> None:
    """DM 2.0's name for `shard-ddl-lock unlock <lock-id>`."""
    _unlock(ctl, lock_id, sources, owner, force_remove, action, database, table)


def _unlock(ctl: Ctl, lock_id: str, sources: tuple[str, ...], owner: str,
            force_remove: bool, action: str, database: str, table: str) -> None:
    ctl.call("unlock-ddl-lock", {"lock_id": lock_id, "owner": owner,
                                 "force_remove": force_remove, "sources": list(sources),
                                 "database": database, "table": table, "action": action})


# DM's dmctl commands pydm does not have yet: each answers DM's JSON with result false
NOT_YET_COMMANDS = {
    "validation": "continuous validation",
    "update-task": "updating a running task's config",
    "check-task-online": "checking a running task",
}


def _not_yet(name: str, feature: str) -> click.Command:
    @click.pass_context
    def command(ctx: click.Context) -> None:
        del ctx
        _fail(errors.CTL_NOT_SUPPORTED(command=name, feature=feature))
    return click.command(name, hidden=True, add_help_option=False, context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True})(command)


for _name, _feature in NOT_YET_COMMANDS.items():
    cli.add_command(_not_yet(_name, _feature))


def main() -> None:
    """Every failure, a usage mistake included, is DM's JSON with result false, exit 1."""
    os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _fail(errors.CTL_ARGS(detail=exc.format_message()))
    except click.exceptions.Abort:
        sys.exit(1)
