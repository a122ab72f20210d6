"""The page ``tmuxorch serve`` shows at ``/``, in real headless Chromium (Debian's
``chromium``, driven by Playwright), against real runs on real tmux: the demo's tasks, a
live mirror of a pane, typing into the mirror and the input box, and answering a waiting
agent with a button.

Without Chromium or Playwright these tests are skipped, saying why; in CI (``CI=true``)
they fail instead, since ``.ci/run`` installs both."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT, eventually, tmuxorch_argv
from tests.serve_helpers import Served
from tests.test_run import start, states, tasks_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser, Page

    from tests.conftest import Server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 120_000
"""Milliseconds a page may take to show something (a deadline, not a speed)."""


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: .ci/run should have installed it")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"no {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield found
        found.close()


@pytest.fixture
def served(tmux_server: Server, tmp_path: Path) -> Iterator[Served]:
    one = Served(tmux_server, tmp_path / "home")
    yield one
    one.stop()


def opened(browser: Browser, one: Served, where: str = "", width: int = 1280) -> Page:
    """A page that came in with the token (its cookie), then went to ``/#where``."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(WAIT)
    page.goto(f"{one.url}?token={one.token}")
    if where:
        page.goto(f"{one.url}#{where}")
    return page


def mirror_text(page: Page) -> str:
    """What the mirror shows, as a person reads it."""
    return page.locator("#mirror .xterm-rows").inner_text().replace("\xa0", " ")


def window_sizes(server: Server) -> dict[str, str]:
    lines = server.client.cmd(
        "list-windows", "-a", "-F", "#{window_id} #{window_width}x#{window_height}"
    )
    return dict(line.split() for line in lines)


def control_clients_of(server: Server, pid: int) -> list[str]:
    """The tmux clients process ``pid`` started (its pollers' control-mode clients)."""
    found = []
    for line in server.client.cmd("list-clients", "-F", "#{client_pid} #{client_flags}"):
        client, flags = line.split(" ", 1)
        try:
            with open(f"/proc/{client}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except FileNotFoundError:
            continue  # it ended meanwhile
        if parent == pid and "control-mode" in flags:
            found.append(client)
    return found


def demo(tmp_path: Path) -> str:
    """The bundled demo (layouts/demo.yaml), working in ``tmp_path`` and a little faster."""
    text = (ROOT / "layouts" / "demo.yaml").read_text()
    text = text.replace("start_directory: ./..", f"start_directory: {tmp_path}")
    text = text.replace("../prompts/", f"{ROOT}/prompts/").replace('"0.4"', '"0.05"')
    return tasks_file(tmp_path, text, "demo.yaml")


def test_the_page_shows_the_demo_and_a_waiting_agent_is_answered_with_its_button(
    browser: Browser, served: Served, tmux_server: Server, tmp_path: Path
) -> None:
    file = demo(tmp_path)
    proc = start(tmux_server, file)
    run = served.run_id()
    page = opened(browser, served)
    page.wait_for_selector(f'#run-list a[href="#run={run}"]')
    rows = page.locator("#tasks tbody tr")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-task") for i in range(rows.count())] == [
        "plan",
        "api",
        "ui",
        "docs",
        "review",
    ]
    page.click('tr.waiting_input[data-task="review"]')
    page.wait_for_selector("#task-title:text-is('review')")
    page.wait_for_function(
        "() => document.querySelector('#mirror .xterm-rows')?.textContent"
        ".includes('Ship the login feature? (y/n)')"
    )
    page.click("#choice-buttons button:text-is('y')")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    assert set(states(file).values()) == {"succeeded"}
    log = subprocess.run(
        tmuxorch_argv("logs", "review", "--file", file), capture_output=True, text=True
    )
    assert "Ship the login feature? (y/n) y" in log.stdout
    page.wait_for_selector("#progress:text-is('5/5 done')")
    page.close()


def test_the_mirror_is_live_and_typing_into_it_reaches_the_pane_byte_for_byte(
    browser: Browser, served: Served, tmux_server: Server, tmp_path: Path
) -> None:
    typed, said = tmp_path / "typed", tmp_path / "said"
    text = "hé $HOME 'q' \"x\";|&`"
    expected = text.encode() + b"\x1b\t\r"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: ticker, command: 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done'}}
          - {{id: keys, command: 'stty raw -echo; printf ready; head -c {len(expected)} > {typed}'}}
          - {{id: line, command: 'printf "say: "; read -r said; printf %s "$said" > {said}'}}
        """,
    )
    proc = start(tmux_server, file)
    run = served.run_id()
    before = window_sizes(tmux_server)
    page = opened(browser, served, f"run={run}&task=ticker", width=375)
    page.wait_for_function("() => /tick-\\d+/.test(document.querySelector('#mirror')?.textContent)")
    first = max(int(w[5:]) for w in mirror_text(page).split() if w.startswith("tick-"))
    page.wait_for_function(
        f"() => document.querySelector('#mirror').textContent.includes('tick-{first + 3}')"
    )
    page.goto(f"{served.url}#run={run}&task=keys")
    page.wait_for_function("() => document.querySelector('#mirror')?.textContent.includes('ready')")
    page.click("#mirror")
    page.keyboard.type(text)
    for key in ("Escape", "Tab", "Enter"):
        page.keyboard.press(key)
    eventually(lambda: states(file).get("keys") == "succeeded", what="keys read all it was sent")
    assert typed.read_bytes() == expected
    page.goto(f"{served.url}#run={run}&task=line")
    page.wait_for_function("() => document.querySelector('#mirror')?.textContent.includes('say:')")
    page.fill("#send-text", text)
    page.click("#send-form button")
    eventually(lambda: states(file).get("line") == "succeeded", what="line read its line")
    assert said.read_text() == text  # the input box sends with /api/send: text, then Enter
    # a phone-wide page mirrors the panes: it neither resized them nor attached to them
    after = window_sizes(tmux_server)
    assert before.keys() & after.keys()
    assert {w: after[w] for w in before.keys() & after.keys()} == {
        w: before[w] for w in before.keys() & after.keys()
    }
    flags = tmux_server.client.cmd("list-clients", "-F", "#{client_flags}")
    assert all("control-mode" in f and "ignore-size" in f for f in flags), flags
    # three tasks looked at, one after the other: serve watches their server with one
    # poller (one control client for their session), not one more for each look
    assert len(control_clients_of(tmux_server, served.proc.pid)) == 1
    # stopping serve with the page open ends its event stream and pane stream at once
    # (not after aiohttp's minute of waiting for them: longer than Served.stop's deadline)
    served.stop()
    assert served.proc.returncode == 0
    page.close()
    stop = subprocess.run(
        tmuxorch_argv("stop", "--all", "--file", file), capture_output=True, text=True
    )
    assert stop.returncode == 0, stop.stderr
    proc.communicate(timeout=120)
