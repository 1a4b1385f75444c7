"""dm-worker: joins the master, serves its bound source's subtasks, reports status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import aiohttp
import click
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dm import __version__, errors
from dm.program import run_program
from dm.store.client import Store
from dm.worker.config import WorkerConfig, load_worker_config
from dm.worker.node import WorkerNode

log = logging.getLogger("dm.worker")


async def _etcd_endpoints(join: str, timeout: float = 60) -> list[str]:
    """Ask a master (any of --join) for the cluster's etcd client endpoints."""
    masters = [m.strip() for m in join.split(",") if m.strip()]
    deadline = asyncio.get_running_loop().time() + timeout
    last: Exception | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        while asyncio.get_running_loop().time() < deadline:
            for master in masters:
                try:
                    async with http.get(f"http://{master}/api/v1/cluster/etcd") as resp:
                        return list((await resp.json())["endpoints"])
                except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
                    last = exc
            await asyncio.sleep(0.5)
    raise errors.WORKER_START(last, name="dm-worker",
                              detail=f"no dm-master answered at {join} within {timeout:.0f}s")


def _app(node: WorkerNode) -> web.Application:
    async def subtasks(request: web.Request) -> web.Response:
        return web.json_response(node.status(request.query.get("task")))

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"name": node.name, "version": __version__,
                                  "source": node.source or ""})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/api/v1/subtasks", subtasks)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(cfg: WorkerConfig) -> None:
    store = Store(await _etcd_endpoints(cfg.join))
    await store.connect()
    node = WorkerNode(cfg.name, cfg.advertise_addr, store, Path.cwd(), cfg.keepalive_ttl)
    runner = web.AppRunner(_app(node), access_log=None)
    await runner.setup()
    try:
        host, port = cfg.listen
        await web.TCPSite(runner, host, port).start()
        log.info("dm-worker %s serving on %s", cfg.name, cfg.worker_addr)
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
@click.option("--relay-dir", help="relay log directory")
@click.option("--log-file", help="log file (default stderr)")
@click.option("-L", "--log-level", help="debug|info|warn|error")
@click.option("-V", "--version", "show_version", is_flag=True, help="print version")
def main(config_path: str | None, show_version: bool, **flags: object) -> None:
    """DM worker: runs the dump, load and sync units of its bound source."""
    run_program("dm-worker", show_version, lambda: load_worker_config(config_path, flags),
                serve, errors.WORKER_START)
