// A live mirror of one tmux pane: xterm.js drawing the screens the pane stream sends, at
// the pane's own size. The page never resizes the pane (it is not a tmux client): it only
// picks a font size that fits the pane's width into the page, and scrolls past that.
// Keys typed into the mirror go to the pane byte for byte ({type: "input"}).

import { Terminal } from "./vendor/xterm/xterm.mjs";
import { FitAddon } from "./vendor/addon-fit/addon-fit.mjs";

const FONT = { min: 7, max: 15, readable: 12 };
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g; // a row is text to show, never to obey

export class Mirror {
  // where: the element to draw in; url: the pane's stream; on: {screen, choices, state, end, error}
  constructor(where, url, on) {
    this.where = where;
    this.url = url;
    this.on = on;
    this.zoom = null; // a font size chosen by hand, or null to fit the width
    this.closed = false;
    this.size = [0, 0];
    this.term = new Terminal({
      cols: 80, rows: 24, scrollback: 0, fontSize: FONT.readable, cursorBlink: false,
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      theme: { background: "#000000", foreground: "#d7dde5", cursor: "#e8c45a" },
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    where.replaceChildren();
    this.term.open(where);
    this.term.onData((data) => this.send({ type: "input", data }));
    this.watchWidth = new ResizeObserver(() => this.fitWidth());
    this.watchWidth.observe(where);
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${scheme}://${location.host}${this.url}`);
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = () => {
      if (!this.closed && !this.ended) this.again = setTimeout(() => this.connect(), 1000);
    };
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  receive(message) {
    switch (message.type) {
      case "screen": this.draw(message); break;
      case "choices": this.on.choices(message.choices); break;
      case "state": this.on.state(message.state); break;
      case "exit": case "gone": this.ended = true; this.on.end(message); break;
      case "error": this.on.error(message.error); break;
      default: break; // hello, lines, gap (a whole screen follows), sent
    }
  }

  draw(message) {
    const [cols, rows] = message.size;
    if (cols > 0 && rows > 0 && (cols !== this.term.cols || rows !== this.term.rows)) {
      this.term.resize(cols, rows); // this page's terminal only: the pane keeps its size
      this.size = [cols, rows];
      this.fitWidth();
    }
    let out = "";
    if (message.key) {
      out += "\x1b[?7l\x1b[H\x1b[2J"; // no wrapping: a row never spills into the next
      message.rows.forEach((row, i) => { if (row) out += `\x1b[${i + 1};1H${row.replace(CONTROL, " ")}`; });
    } else {
      for (const [i, row] of Object.entries(message.rows)) {
        out += `\x1b[${Number(i) + 1};1H\x1b[2K${row.replace(CONTROL, " ")}`;
      }
    }
    const [x, y] = message.cursor;
    out += `\x1b[${y + 1};${x + 1}H`;
    this.term.write(out);
    this.on.screen(message);
  }

  // the font size at which the pane's width fills the page's (within bounds)
  fitWidth(tries = 3) {
    let size = this.zoom;
    if (size === null) {
      const fits = this.fit.proposeDimensions();
      const now = this.term.options.fontSize;
      if (!fits || !fits.cols || !this.term.cols) return;
      size = Math.floor((2 * now * fits.cols) / this.term.cols) / 2;
    }
    size = Math.max(FONT.min, Math.min(FONT.max, size));
    if (size !== this.term.options.fontSize) {
      this.term.options.fontSize = size;
      if (this.zoom === null && tries > 1) requestAnimationFrame(() => this.fitWidth(tries - 1)); // cells round
    }
  }

  setZoom(step) {
    const now = this.term.options.fontSize;
    this.zoom = step === 0 ? null : Math.max(FONT.min, Math.min(FONT.max + 9, now + step));
    this.fitWidth();
  }

  focus() { this.term.focus(); }

  // the screen as text, one line per row (for a person's tools and the tests)
  text() {
    const buffer = this.term.buffer.active;
    const lines = [];
    for (let i = 0; i < this.term.rows; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  }

  close() {
    this.closed = true;
    clearTimeout(this.again);
    this.watchWidth.disconnect();
    if (this.ws) this.ws.close();
    this.term.dispose();
  }
}
