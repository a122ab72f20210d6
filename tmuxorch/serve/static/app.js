// The page: the runs serve knows, one run's progress and task table (the facts of the live
// table), and one task (task.js). Which run and task are shown lives in the address
// (#run=ID&task=NAME), so a reload or a shared link comes back to them. The run is read
// again when the event stream says something happened to it, and every few seconds while
// it runs (times and last lines move without events).

import { TaskView } from "./task.js";
import { call, countStates, duration, el, fillBar, progress, say, stateLabel } from "./util.js";

const $ = (id) => document.getElementById(id);
const REFRESH_RUNNING = 2000;
const REFRESH_RUNS = 5000;

window.tmuxorch = { mirror: null }; // the open mirror, for a person's devtools and bench_web
const state = { runs: [], report: null, run: null, task: null };
const taskView = new TaskView();

function chosen() {
  const found = new URLSearchParams(location.hash.slice(1));
  return { run: found.get("run"), task: found.get("task") };
}

function link(run, task) {
  const params = new URLSearchParams();
  if (run) params.set("run", run);
  if (task) params.set("task", task);
  return `#${params}`;
}

async function loadRuns() {
  try {
    state.runs = (await call("GET", "/api/runs")).runs;
  } catch (error) {
    $("run-list").replaceChildren(el("li", { class: "message bad", text: error.message }));
    return;
  }
  drawRuns();
  if (!chosen().run && state.runs.length) location.replace(link(state.runs[0].run));
}

function drawRuns() {
  const list = $("run-list");
  if (!state.runs.length) {
    list.replaceChildren(el("li", { class: "muted", text: "No runs yet: start one with tmuxorch run." }));
    return;
  }
  list.replaceChildren(...state.runs.map((run) => {
    const name = run.file.split("/").pop();
    const bar = el("div", { class: "bar" });
    fillBar(bar, run.states, run.tasks);
    return el("li", {}, el("a", { href: link(run.run), class: run.run === state.run ? "chosen" : "" },
      el("div", { class: "name", text: name }),
      el("div", { class: "small" },
        el("span", { class: run.state === "running" ? "s-running" : "", text: run.state }),
        el("span", { class: "muted", text: ` · ${progress(run.states, run.tasks)}` })),
      el("div", { class: "muted small", text: run.run }),
      bar));
  }));
}

async function loadRun() {
  const { run, task } = chosen();
  state.run = run;
  state.task = task;
  if (!run) { $("run").hidden = true; taskView.show(null, null); return; }
  let report;
  try {
    report = await call("GET", `/api/runs/${encodeURIComponent(run)}`);
  } catch (error) {
    $("run").hidden = false;
    $("run-title").textContent = `run ${run}`;
    say($("run-message"), error.message, "bad");
    return;
  }
  if (chosen().run !== run) return; // another run was chosen meanwhile
  state.report = report;
  drawRun(report);
  taskView.show(report, report.tasks.find((row) => row.task === chosen().task) || null);
}

function drawRun(report) {
  $("run").hidden = false;
  $("run-title").textContent = report.file.split("/").pop();
  const label = report.state === "running" && !report.supervised ? "running (no supervisor)" : report.state;
  $("run-state").textContent = label;
  $("run-state").className = `state s-${report.state === "running" ? "running" : report.state === "finished" ? "succeeded" : "stopped"}`;
  $("run-file").textContent = `run ${report.run} · ${report.session ? `session ${report.session} · ` : ""}${report.file}`;
  $("stop-run").disabled = !(report.state === "running" && report.supervised);
  const counts = countStates(report.tasks);
  fillBar($("bar"), counts, report.tasks.length);
  $("progress").textContent = progress(counts, report.tasks.length);
  $("tasks").tBodies[0].replaceChildren(...report.tasks.map((row) => {
    const line = row.reason && !["running", "waiting_input", "pending"].includes(row.state)
      ? (row.last_line ? `${row.reason} · ${row.last_line}` : row.reason) : row.last_line;
    const open = () => { location.hash = link(report.run, row.task); };
    return el("tr", {
      class: `${row.state}${row.task === state.task ? " chosen" : ""}`, "data-task": row.task,
      tabindex: "0", onclick: open, onkeydown: (event) => { if (event.key === "Enter") open(); },
    },
    el("td", { class: "task", text: row.task }),
    el("td", { class: `s-${row.state}`, text: stateLabel(row.state) }),
    el("td", { class: "opt muted", text: row.pane || "" }),
    el("td", { class: "opt", text: row.attempt ? String(row.attempt) : "" }),
    el("td", { text: duration(row.runtime) }),
    el("td", { class: "opt", text: row.exit_code === null ? "" : String(row.exit_code) }),
    el("td", { class: "wide muted", text: line || "", title: line || "" }));
  }));
}

// many events come at once: read again once for them all (and at least that often while
// they keep coming)
const pending = {};
function soon(what, ms) {
  if (pending[what]) return;
  pending[what] = setTimeout(() => {
    pending[what] = null;
    (what === "run" ? loadRun : loadRuns)();
  }, ms);
}

function listen() {
  const events = new EventSource("/api/events");
  const live = $("live");
  events.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  events.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
  events.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event.run && event.run === state.run) soon("run", 150);
    if (!event.run || String(event.type).startsWith("run-") || !state.runs.some((r) => r.run === event.run)) {
      soon("runs", 300);
    } else {
      soon("runs", 1500);
    }
  };
}

$("stop-run").addEventListener("click", async () => {
  const run = state.run;
  if (!confirm(`Stop every task of run ${run}?`)) return;
  try {
    await call("POST", `/api/runs/${encodeURIComponent(run)}/stop`, { all: true });
    say($("run-message"), "Asked the run to stop.", "ok");
  } catch (error) {
    say($("run-message"), `Could not stop: ${error.message}`, "bad");
  }
});

window.addEventListener("hashchange", () => {
  const { run } = chosen();
  if (run !== state.run) say($("run-message"), "");
  drawRuns();
  loadRun();
});

setInterval(() => { if (state.report?.state === "running" && !document.hidden) loadRun(); }, REFRESH_RUNNING);
setInterval(() => { if (!document.hidden) loadRuns(); }, REFRESH_RUNS);
listen();
loadRuns().then(loadRun);
