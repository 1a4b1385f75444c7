"""Requests the OpenAPI refuses before doing anything (so no cluster is needed): unknown
query parameters, bodies that are not JSON, not UTF-8 or not the operation's shape,
changes asked by a page of another site, unknown paths and files; and the files it
serves. tests/integration/test_openapi.py drives the operations on a real cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dm.master.openapi.routes import OpenAPI


class Leading:
    """What the API asks of its master's election here: whether it leads (it does)."""

    is_leader = True


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    OpenAPI(None, Leading(), "m1").mount(app)  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as http:
        yield http


async def _refused(resp: Any, status: int, *words: str) -> None:
    body = await resp.json()
    assert resp.status == status and body["error_code"] == 49001, body
    for word in words:
        assert word in body["error_msg"], body


async def test_bad_requests_are_refused_naming_what_is_wrong(
        client: TestClient[Any, Any]) -> None:
    await _refused(await client.get("/api/v1/sources?with_stauts=true"), 400, "with_stauts",
                   "with_status")
    await _refused(await client.get("/api/v1/sources?with_status=maybe"), 400, "maybe")
    await _refused(await client.post("/api/v1/sources", data="{}",
                                     headers={"Content-Type": "text/plain"}),
                   400, "application/json")
    await _refused(await client.post("/api/v1/sources", data=b"\xff\xfe{",
                                     headers={"Content-Type": "application/json"}),
                   400, "UTF-8")
    await _refused(await client.post("/api/v1/sources", data="{",
                                     headers={"Content-Type": "application/json"}),
                   400, "not valid JSON")
    await _refused(await client.post("/api/v1/sources", json={"source_name": "s"}), 400,
                   "host: Field required", "port: Field required")
    await _refused(await client.post("/api/v1/sources/s/transfer"), 400, "needs a JSON body")
    await _refused(await client.post("/api/v1/tasks/t/pause", json={"s1": 1}), 400,
                   "list of names")
    await _refused(await client.put("/api/v1/tasks/t/sources/s/schemas/d/t",
                                    json={"sql_content": "CREATE TABLE t (a INT)",
                                          "sync": False}), 400, "sync: false")


async def test_a_page_of_another_site_may_not_change_the_cluster(
        client: TestClient[Any, Any]) -> None:
    await _refused(await client.post("/api/v1/tasks/t/pause",
                                     headers={"Origin": "http://elsewhere.example"}), 403,
                   "another site")
    await _refused(await client.delete("/api/v1/tasks/t",
                                       headers={"Sec-Fetch-Site": "cross-site"}), 403)


async def test_unknown_paths_and_files(client: TestClient[Any, Any]) -> None:
    await _refused(await client.get("/api/v1/sources/s/enable"), 404, "GET")
    await _refused(await client.get("/dashboard/secret.txt"), 404)
    await _refused(await client.get("/api/v1/docs/index.html"), 404)


async def test_the_document_swagger_ui_and_the_page_are_served(
        client: TestClient[Any, Any]) -> None:
    assert (await (await client.get("/api/v1/dm.json")).json())["openapi"] == "3.0.3"
    docs = await client.get("/api/v1/docs")
    assert docs.status == 200 and "/api/v1/dm.json" in await docs.text()
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js"):
        assert (await client.get(f"/api/v1/docs/{asset}")).status == 200
    page = await client.get("/dashboard/")
    assert page.status == 200 and "/dashboard/app.js" in await page.text()
    for asset in ("app.js", "style.css"):
        assert (await client.get(f"/dashboard/{asset}")).status == 200
    moved = await client.get("/dashboard", allow_redirects=False)
    assert moved.status == 301 and moved.headers["Location"] == "/dashboard/"
