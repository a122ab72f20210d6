// One task of a run: its state, stop and retry, the answers its screen offers, a live
// mirror of its pane (or its transcript once the pane is gone), and input for it.

import { Mirror } from "./mirror.js";
import { call, el, say, stateLabel } from "./util.js";

const $ = (id) => document.getElementById(id);

export class TaskView {
  constructor() {
    this.run = null;
    this.task = null;
    this.row = null;
    this.mirror = null;
    this.pane = null;
    $("stop-task").addEventListener("click", () => this.ask("stop"));
    $("retry-task").addEventListener("click", () => this.ask("retry"));
    $("send-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("send-text").value;
      if (!text) return;
      this.deliver({ text }, () => { $("send-text").value = ""; });
    });
    for (const button of document.querySelectorAll(".keys button")) {
      button.addEventListener("click", () => this.deliver({ keys: [button.dataset.key] }));
    }
    $("zoom-out").addEventListener("click", () => this.mirror?.setZoom(-1));
    $("zoom-in").addEventListener("click", () => this.mirror?.setZoom(1));
    $("zoom-fit").addEventListener("click", () => this.mirror?.setZoom(0));
  }

  // show `row` (a task of `report`, the run as GET /api/runs/{run} gives it), or nothing
  show(report, row) {
    const section = $("task");
    if (!row) {
      section.hidden = true;
      this.close();
      this.run = this.task = this.row = null;
      return;
    }
    const moved = this.run !== report.run || this.task !== row.task;
    if (moved) { say($("task-message"), ""); this.showChoices([]); $("agent-state").textContent = ""; }
    this.run = report.run;
    this.task = row.task;
    this.row = row;
    section.hidden = false;
    $("task-title").textContent = row.task;
    const state = $("task-state");
    state.textContent = stateLabel(row.state);
    state.className = `state s-${row.state}`;
    const live = report.state === "running" && report.supervised;
    $("stop-task").disabled = !live || !["running", "waiting_input", "retrying", "pending"].includes(row.state);
    $("retry-task").disabled = !live || !["failed", "stopped", "skipped", "succeeded"].includes(row.state);
    const log = $("task-log");
    log.hidden = !row.attempt;
    log.href = `/api/runs/${encodeURIComponent(report.run)}/tasks/${encodeURIComponent(row.task)}/log`;
    const pane = row.pane && ["running", "waiting_input"].includes(row.state) ? row.pane : null;
    if (pane !== this.pane || moved) this.watch(pane, report.run, row);
    for (const input of [$("send-text"), ...document.querySelectorAll(".send button, .keys button")]) {
      input.disabled = !pane;
    }
  }

  watch(pane, run, row) {
    this.close();
    this.pane = pane;
    $("task").classList.toggle("no-pane", !pane);
    const transcript = $("transcript");
    if (!pane) {
      $("mirror-size").textContent = "";
      transcript.hidden = !row.attempt;
      transcript.textContent = "";
      if (!row.attempt) say($("task-message"), "It has not started yet.");
      if (row.attempt) this.transcript(run, row.task);
      return;
    }
    transcript.hidden = true;
    const url = `/api/panes/${encodeURIComponent(pane.replace(/^%/, ""))}/stream?run=${encodeURIComponent(run)}`;
    this.mirror = new Mirror($("mirror"), url, {
      screen: (message) => { $("mirror-size").textContent = `pane ${pane} · ${message.size[0]}×${message.size[1]}`; },
      choices: (choices) => this.showChoices(choices),
      state: (state) => { $("agent-state").textContent = `agent: ${state.replace("_", " ")}`; },
      end: (message) => {
        this.showChoices([]);
        say($("task-message"), message.type === "exit" ? "Its program ended." : "Its pane is gone.");
      },
      error: (why) => say($("task-message"), why, "bad"),
    });
    window.tmuxorch.mirror = this.mirror;
  }

  async transcript(run, task) {
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(run)}/tasks/${encodeURIComponent(task)}/log`, { credentials: "same-origin" });
      const text = response.ok ? await response.text() : "";
      if (this.run === run && this.task === task && !this.pane) {
        const shown = $("transcript");
        shown.textContent = text.split("\n").slice(-400).join("\n") || "(nothing was written)";
        shown.scrollTop = shown.scrollHeight; // the end is what happened last
      }
    } catch { /* the next refresh tries again */ }
  }

  showChoices(choices) {
    $("choices").hidden = !choices.length;
    $("choice-buttons").replaceChildren(...choices.map((choice) => el("button", {
      type: "button", text: choice.label, title: `send ${JSON.stringify(choice.send)}`,
      onclick: () => this.deliver(choice.send),
    })));
  }

  // input through POST /api/send (tmuxorch send's semantics: text then Enter, keys alone)
  async deliver(what, done) {
    if (!this.pane) return;
    try {
      await call("POST", "/api/send", { run: this.run, target: this.pane, ...what });
      say($("task-message"), "");
      if (done) done();
    } catch (error) {
      say($("task-message"), `Not sent: ${error.message}`, "bad");
    }
  }

  async ask(action) {
    const task = this.task;
    try {
      await call("POST", `/api/runs/${encodeURIComponent(this.run)}/${action}`, { tasks: [task] });
      say($("task-message"), `Asked the run to ${action} ${task}.`, "ok");
    } catch (error) {
      say($("task-message"), `Could not ${action} ${task}: ${error.message}`, "bad");
    }
  }

  close() {
    if (this.mirror) this.mirror.close();
    this.mirror = null;
    this.pane = null;
    window.tmuxorch.mirror = null;
    $("mirror").replaceChildren();
  }
}
