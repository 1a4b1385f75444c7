"""dm-worker: joins the master, serves its bound source's subtasks, reports status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import click
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from dm import __version__, clustertls, errors
from dm.program import comma_list, run_program
from dm.store import keys
from dm.store.client import Store
from dm.store.discovery import etcd_endpoints
from dm.sync.feed import warm_reader
from dm.tomlconfig import to_toml
from dm.worker.config import WorkerConfig, load_worker_config
from dm.worker.metrics import WorkerCollector
from dm.worker.node import WorkerNode

log = logging.getLogger("dm.worker")


def _app(node: WorkerNode) -> web.Application:
    async def subtasks(request: web.Request) -> web.Response:
        return web.json_response(node.status(request.query.get("task")))

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"name": node.name, "version": __version__,
                                  "source": node.source or ""})

    async def purge_relay(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            purged, note = await asyncio.to_thread(
                node.purge_relay, str(body.get("filename", "")), str(body.get("sub_dir", "")))
        except errors.DMError as exc:
            return web.json_response({"result": False, "msg": str(exc)})
        return web.json_response({"result": True, "msg": note, "purged": purged})

    async def operate_schema(request: web.Request) -> web.Response:
        try:
            shown = await asyncio.to_thread(node.operate_schema, dict(await request.json()))
        except errors.DMError as exc:
            return web.json_response({"result": False, "msg": str(exc)})
        return web.json_response({"result": True, "msg": shown})

    async def binlog_error(request: web.Request) -> web.Response:
        try:
            at = node.failed_ddl(request.query.get("task", ""))
        except errors.DMError as exc:
            return web.json_response({"result": False, "msg": str(exc)})
        return web.json_response({"result": True, "msg": "", "binlog_pos": at})

    async def poke(_: web.Request) -> web.Response:
        node.poke()
        return web.json_response({"result": True})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(middlewares=[clustertls.current().middleware()])
    app.router.add_get("/api/v1/subtasks", subtasks)
    app.router.add_get("/status", status)
    app.router.add_post("/api/v1/relay/purge", purge_relay)
    app.router.add_post("/api/v1/schema", operate_schema)
    app.router.add_get("/api/v1/binlog-error", binlog_error)
    app.router.add_post("/api/v1/poke", poke)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(cfg: WorkerConfig) -> None:
    tls = cfg.tls()
    clustertls.configure(tls)  # etcd, the HTTP API and calls to masters
    store = Store(await etcd_endpoints(cfg.join, cfg.name))
    await store.connect()
    await store.put(keys.key(keys.WORKER_CONFIG, cfg.name), to_toml(cfg))
    node = WorkerNode(cfg.name, cfg.advertise_addr, store, Path.cwd(), cfg.keepalive_ttl,
                      cfg.relay_dir, cfg.relay_keepalive_ttl)
    REGISTRY.register(WorkerCollector(cfg.name, lambda: node.subtasks,
                                      lambda: node.relays.relay))
    runner = web.AppRunner(_app(node), access_log=None)
    await runner.setup()
    try:
        host, port = cfg.listen
        await web.TCPSite(runner, host, port, ssl_context=tls.server_context()).start()
        log.info("dm-worker %s serving on %s", cfg.name, cfg.worker_addr)
        warm_reader()  # the first sync unit's binlog reader, its imports done ahead
        life = asyncio.create_task(node.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.wait([life, asyncio.create_task(stop.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        life.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await life
        await node.stop_all()
    finally:
        await runner.cleanup()
        await store.close()
        log.info("dm-worker %s stopped", cfg.name)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", help="TOML config file (same keys as the flags)")
@click.option("--name", help="worker name (default dm-worker-<hostname>)")
@click.option("--worker-addr", help="address to serve status and metrics, e.g. :8262")
@click.option("--advertise-addr", help="address the master uses to reach this worker")
@click.option("--join", help="dm-master address(es), comma separated")
@click.option("--keepalive-ttl", type=int, help="lease TTL in seconds (default 60)")
@click.option("--relay-keepalive-ttl", type=int,
              help="lease TTL in seconds while the worker relays its source (default 1800)")
@click.option("--relay-dir", help="relay log directory (wins over the source's relay-dir)")
@click.option("--ssl-ca", help="CA of the cluster's TLS (DM's ssl-ca)")
@click.option("--ssl-cert", help="this worker's certificate (ssl-cert)")
@click.option("--ssl-key", help="its private key (ssl-key)")
@click.option("--cert-allowed-cn", callback=comma_list,
              help="common names a client certificate must have, comma separated")
@click.option("--log-file", help="log file (default stderr)")
@click.option("-L", "--log-level", help="debug|info|warn|error")
@click.option("-V", "--version", "show_version", is_flag=True, help="print version")
def main(config_path: str | None, show_version: bool, **flags: object) -> None:
    """DM worker: runs the dump, load and sync units of its bound source."""
    run_program("dm-worker", show_version, lambda: load_worker_config(config_path, flags),
                serve, errors.WORKER_START)
