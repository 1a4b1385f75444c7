// pydm's web page: the cluster as the OpenAPI v1 shows it, redrawn every few seconds.
// Only DOM text nodes carry what the API returns (never HTML), so names cannot inject.
"use strict";

const REFRESH_MS = 3000;

async function api(path) {
  const resp = await fetch(path, {headers: {Accept: "application/json"}});
  const body = await resp.json();
  if (!resp.ok) {
    throw new Error(`${path}: ${body.error_msg || resp.status}`);
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function stage(name) {
  return el("span", {class: `stage ${name || "Unbound"}`}, name || "unbound");
}

function bar(progress) {
  const percent = Math.max(0, Math.min(100, parseFloat(progress) || 0));
  return el("span", {},
    el("span", {class: "bar"}, el("span", {style: `width: ${percent}%`})), progress);
}

function progressOf(st, failed) {
  if (st.unit === "Dump" && st.dump_status) return bar(st.dump_status.progress);
  if (st.unit === "Load" && st.load_status) return bar(st.load_status.progress);
  if (st.sync_status) {
    const sync = st.sync_status;
    const text = failed || st.stage !== "Running" ? "stopped at"
      : sync.synced ? "synced" : "catching up";
    return el("span", {}, text, el("br"),
      el("small", {}, `${sync.syncer_binlog || "-"} of ${sync.master_binlog || "-"}`));
  }
  if (st.load_status) return bar(st.load_status.progress);
  return "";
}

function lagOf(st) {
  return st.sync_status ? `${st.sync_status.seconds_behind_master} s` : "";
}

function rows(tbody, items, cells) {
  tbody.replaceChildren(...items.map((item) =>
    el("tr", {}, ...cells(item).map((c) => el("td", {}, c)))));
}

function taskCard(task, statuses) {
  const card = el("div", {class: "task", "data-task": task.name},
    el("h3", {}, task.name,
      el("span", {class: "meta"}, `mode ${task.task_mode}`),
      task.shard_mode ? el("span", {class: "meta"}, `shard mode ${task.shard_mode}`) : null));
  const table = el("table", {},
    el("thead", {}, el("tr", {}, ...["source", "worker", "stage", "unit", "progress", "lag",
      "events", "lock"].map((h) => el("th", {}, h)))));
  const body = el("tbody");
  table.append(body);
  card.append(table);
  for (const st of statuses) {
    const failed = st.errors && st.errors.length > 0;
    body.append(el("tr", {"data-source": st.source_name},
      el("td", {}, st.source_name), el("td", {}, st.worker_name || "-"),
      el("td", {}, stage(failed ? "Error" : st.stage)), el("td", {}, st.unit || "-"),
      el("td", {}, progressOf(st, failed)), el("td", {}, lagOf(st)),
      el("td", {}, st.sync_status ? st.sync_status.total_events : ""),
      el("td", {}, st.unresolved_ddl_lock_id || "")));
    for (const err of st.errors || []) {
      card.append(el("div", {class: "error", "data-source": st.source_name},
        el("div", {}, el("span", {class: "code"}, `${st.source_name}: code ${err.error_code} `),
          err.error_msg),
        err.raw_cause ? el("div", {class: "cause"}, err.raw_cause) : null,
        err.workaround ? el("div", {class: "workaround"}, "What to do: ", err.workaround)
          : null));
    }
    if (!failed && st.error_msg) {
      card.append(el("div", {class: "error", "data-source": st.source_name}, st.error_msg));
    }
  }
  return card;
}

async function refresh() {
  const [tasks, sources, workers, masters] = await Promise.all([
    api("/api/v1/tasks"), api("/api/v1/sources?with_status=true"),
    api("/api/v1/cluster/workers"), api("/api/v1/cluster/masters")]);
  const statuses = await Promise.all(tasks.data.map((t) =>
    api(`/api/v1/tasks/${encodeURIComponent(t.name)}/status`)));
  const cards = tasks.data.map((t, i) => taskCard(t, statuses[i].data));
  document.getElementById("tasks").replaceChildren(
    ...(cards.length ? cards : [el("p", {class: "empty"}, "no task")]));
  rows(document.querySelector("#sources tbody"), sources.data, (s) => {
    const status = (s.status_list || [])[0] || {};
    const relay = status.relay_status;
    return [s.source_name, `${s.host}:${s.port}`, s.enable_gtid ? "on" : "off",
      (s.status_list || []).map((x) => x.worker_name).filter(Boolean).join(", ") || "-",
      relay ? relay.stage : "off"];
  });
  rows(document.querySelector("#workers tbody"), workers.data, (w) =>
    [w.name, w.addr, w.bound_stage, w.bound_source_name || "-"]);
  rows(document.querySelector("#masters tbody"), masters.data, (m) =>
    [m.name, m.addr, m.alive ? "yes" : "no", m.leader ? "leader" : ""]);
  const leader = masters.data.find((m) => m.leader);
  document.getElementById("leader").textContent = leader ? `leader ${leader.name}` : "";
}

async function loop() {
  const problem = document.getElementById("problem");
  try {
    await refresh();
    problem.hidden = true;
    document.getElementById("refreshed").textContent =
      `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    problem.hidden = false;
    problem.textContent = `cannot read the cluster now (${err.message}); trying again`;
  }
  setTimeout(loop, REFRESH_MS);
}

loop();
