// Small helpers the page shares: building elements (text only, never HTML), asking the
// server, and saying states and times as the terminal table does.

export const MARK = {
  pending: "·", running: "▶", retrying: "↻", succeeded: "✓", failed: "✗",
  skipped: "⊘", stopped: "■", waiting_input: "?", unknown: "~",
};
export const OVER = ["succeeded", "failed", "skipped", "stopped"];

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function stateLabel(state) {
  return `${MARK[state] || "•"} ${state === "waiting_input" ? "waiting for input" : state}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

// "3/5 done (1 failed) · 1 running · 1 waiting for input", as `tmuxorch run` heads its table
export function progress(counts, total) {
  const done = OVER.reduce((n, state) => n + (counts[state] || 0), 0);
  const bad = ["failed", "stopped", "skipped"].filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
  let said = `${done}/${total} done` + (bad.length ? ` (${bad.join(", ")})` : "");
  for (const [state, words] of [["running", "running"], ["waiting_input", "waiting for input"], ["retrying", "retrying"]]) {
    if (counts[state]) said += ` · ${counts[state]} ${words}`;
  }
  return said;
}

export function countStates(tasks) {
  const counts = {};
  for (const task of tasks) counts[task.state] = (counts[task.state] || 0) + 1;
  return counts;
}

// a bar of coloured parts, one per state, as wide as its share of the tasks
export function fillBar(bar, counts, total) {
  const order = ["succeeded", "failed", "stopped", "skipped", "running", "waiting_input", "retrying"];
  bar.replaceChildren(...order.filter((s) => counts[s]).map((s) =>
    el("span", { class: `s-${s}`, style: `width:${(100 * counts[s]) / Math.max(total, 1)}%`, title: `${counts[s]} ${s}` })));
  const done = OVER.reduce((n, state) => n + (counts[state] || 0), 0);
  bar.setAttribute("aria-valuemax", String(total));
  bar.setAttribute("aria-valuenow", String(done));
}

// JSON from the server (the token is the cookie; the browser sets Origin on a POST)
export async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const why = (data && data.error) || `${response.status} ${response.statusText}`;
    throw new Error(why);
  }
  return data;
}

export function say(node, text, kind = "") {
  node.textContent = text;
  node.className = `message ${kind}`;
}
