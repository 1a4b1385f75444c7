"""Finding the cluster's etcd through any dm-master (`--join` of workers and masters)."""

from __future__ import annotations

import asyncio

import aiohttp

from dm import clustertls, errors


async def etcd_endpoints(join: str, who: str, timeout: float = 60) -> list[str]:
    """Ask the masters in `join` (comma separated) for the etcd client endpoints."""
    masters = [m.strip() for m in join.split(",") if m.strip()]
    deadline = asyncio.get_running_loop().time() + timeout
    last: Exception | None = None
    async with clustertls.session(5) as http:
        while asyncio.get_running_loop().time() < deadline:
            for master in masters:
                try:
                    async with http.get(clustertls.url(master, "/api/v1/cluster/etcd")) as resp:
                        return list((await resp.json())["endpoints"])
                except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
                    last = exc
            await asyncio.sleep(0.5)
    raise errors.WORKER_START(last, name=who,
                              detail=f"no dm-master answered at {join} within {timeout:.0f}s")
