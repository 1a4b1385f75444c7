"""dm-master: runs its etcd member, campaigns for leadership, serves dmctl."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import click
from aiohttp import web

from dm import clustertls, errors
from dm.master.config import MasterConfig, load_master_config
from dm.master.election import Election
from dm.master.etcdproc import EtcdMember, EtcdProcess
from dm.master.scheduler import Scheduler
from dm.master.server import MasterAPI
from dm.master.state import ClusterState
from dm.program import comma_list, run_program
from dm.store import keys
from dm.store.client import Store
from dm.store.discovery import etcd_endpoints
from dm.tomlconfig import to_toml

log = logging.getLogger("dm.master")


async def _join(cfg: MasterConfig, etcd_dir: Path) -> tuple[str, str]:
    """(initial-cluster, state) of this member: as configured, or added to a running
    cluster through `--join` (a restarted member keeps its data and needs neither)."""
    if not cfg.join or (etcd_dir / "member").exists():
        return cfg.initial_cluster, cfg.initial_cluster_state
    store = Store(await etcd_endpoints(cfg.join, cfg.name))
    await store.connect()
    try:
        await store.add_member([cfg.advertise_peer_urls])
        peers = [f"{m.name or cfg.name}={url}" for m in await store.members()
                 for url in m.peer_urls]
    except Exception as exc:
        raise errors.MASTER_ETCD(exc, op=f"add member {cfg.advertise_peer_urls}") from exc
    finally:
        await store.close()
    log.info("joining the cluster of %s as %s", cfg.join, cfg.name)
    return ",".join(peers), "existing"


async def serve(cfg: MasterConfig) -> None:
    tls = cfg.tls()
    clustertls.configure(tls)  # etcd, the HTTP API and calls to workers and masters
    data_dir = Path(cfg.data_dir)
    initial_cluster, cluster_state = await _join(cfg, data_dir / "etcd")
    etcd = EtcdProcess(EtcdMember(
        cfg.name, data_dir / "etcd", cfg.etcd_client_urls, cfg.peer_urls,
        cfg.advertise_peer_urls, initial_cluster, cluster_state, cfg.auto_compaction_mode,
        cfg.auto_compaction_retention, cfg.quota_backend_bytes, cfg.max_txn_ops,
        cfg.max_request_bytes, tuple(tls.etcd_args())), data_dir / "etcd.log")
    await etcd.start()
    store = Store([etcd.endpoint])
    runner: web.AppRunner | None = None
    try:
        await store.connect()
        await store.put(keys.key(keys.MASTER_CONFIG, cfg.name), to_toml(cfg))
        state = ClusterState(store)
        election = Election(store, cfg.name, cfg.advertise_addr)
        api = MasterAPI(state, election, cfg.name, cfg.openapi)
        runner = web.AppRunner(api.app(), access_log=None)
        await runner.setup()
        host, port = cfg.listen
        await web.TCPSite(runner, host, port, ssl_context=tls.server_context()).start()
        log.info("dm-master %s serving on %s (etcd %s)", cfg.name, cfg.master_addr,
                 etcd.endpoint)
        campaign = asyncio.create_task(election.campaign(
            Scheduler(state, lambda: election.is_leader).run))
        signalled = asyncio.create_task(_until_signalled())
        member_gone = asyncio.create_task(etcd.exited())
        await asyncio.wait([signalled, member_gone], return_when=asyncio.FIRST_COMPLETED)
        for task in (campaign, signalled, member_gone):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if member_gone.done() and not member_gone.cancelled():
            raise errors.MASTER_ETCD(f"exited with status {member_gone.result()}",
                                     op=f"run etcd member (log {etcd.log_path})")
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()
        await etcd.stop()
        log.info("dm-master %s stopped", cfg.name)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", help="TOML config file (same keys as the flags)")
@click.option("--name", help="member name (default dm-master-<hostname>)")
@click.option("--master-addr", help="address to serve dmctl and workers, e.g. :8261")
@click.option("--advertise-addr", help="address others use to reach this master")
@click.option("--peer-urls", help="etcd peer URLs (default http://127.0.0.1:8291)")
@click.option("--advertise-peer-urls", help="etcd advertised peer URLs")
@click.option("--initial-cluster", help="name=peer-url,... of the initial masters")
@click.option("--join", help="client addresses of a running cluster to join")
@click.option("--etcd-client-urls", help="etcd client URL (pydm; default peer port + 1)")
@click.option("--data-dir", help="etcd data directory (default default.<name>)")
@click.option("--ssl-ca", help="CA of the cluster's TLS (DM's ssl-ca)")
@click.option("--ssl-cert", help="this master's certificate (ssl-cert)")
@click.option("--ssl-key", help="its private key (ssl-key)")
@click.option("--cert-allowed-cn", callback=comma_list,
              help="common names a client certificate must have, comma separated")
@click.option("--log-file", help="log file (default stderr)")
@click.option("-L", "--log-level", help="debug|info|warn|error")
@click.option("-V", "--version", "show_version", is_flag=True, help="print version")
def main(config_path: str | None, show_version: bool, **flags: str | None) -> None:
    """DM master: control plane of a pydm cluster."""
    run_program("dm-master", show_version, lambda: load_master_config(config_path, flags),
                serve, errors.MASTER_START)
