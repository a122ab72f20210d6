"""Requests that add tasks (``POST /hooks/NAME``): GitHub's signed webhooks and the generic
incoming hook, into a real ``tmuxorch serve`` and a real run on real tmux."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

from tests.channel_helpers import ChannelServed
from tests.conftest import eventually
from tests.test_run import start, states, tasks_file
from tmuxorch.serve.github import mentions, without

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server

GH_SECRET = "gh-s3cret-value"
IN_SECRET = "in-s3cret-value"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    served: ChannelServed,
    path: str,
    payload: object,
    headers: dict[str, str],
    *,
    secret: str | None = None,
    header: str = "X-Hub-Signature-256",
) -> tuple[int, dict[str, object]]:
    """POST ``payload`` (JSON) to ``path`` with no token, signed with ``secret`` if given."""
    body = json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **headers}
    if secret is not None:
        sent[header] = signature(secret, body)
    request = urllib.request.Request(served.url.rstrip("/") + path, data=body, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def comment(text: str, *, login: str = "octocat", comment_id: int = 1001) -> dict[str, object]:
    return {
        "action": "created",
        "issue": {
            "number": 42,
            "title": "Typo in the README",
            "body": "The README says `teh`; costs {money} and $HOME.",
            "html_url": "https://github.com/octo/app/issues/42",
        },
        "comment": {
            "id": comment_id,
            "body": text,
            "user": {"login": login},
            "html_url": f"https://github.com/octo/app/issues/42#issuecomment-{comment_id}",
        },
        "repository": {"full_name": "octo/app"},
        "sender": {"login": login},
    }


@pytest.fixture
def setup(tmux_server: Server, tmp_path: Path) -> Iterator[tuple[ChannelServed, str]]:
    """A live run (a task that waits for ``done``) and a serve with both hooks on it."""
    file = tasks_file(
        tmp_path,
        f"""
        agents:
          fixer: {{preset: demo, args: [--fast, --steps, "1"]}}
        tasks:
          - {{id: keeper, command: 'while [ ! -e {tmp_path}/done ]; do sleep 0.1; done'}}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("keeper") == "running", what="the run is live")
    served = ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          github:
            secret_env: GH_SECRET
            run: {file}
            agent: fixer
            labels: [agent-please]
            allow: [octocat]
          deploy:
            kind: incoming
            secret_env: IN_SECRET
            run: {file}
          ops:
            kind: webhook
            url: http://127.0.0.1:9/never
        """,
        env={"GH_SECRET": GH_SECRET, "IN_SECRET": IN_SECRET},
    )
    try:
        yield served, file
    finally:
        (tmp_path / "done").touch()
        proc.communicate(timeout=120)
        served.stop()


def test_a_signed_comment_that_mentions_the_handle_becomes_a_task_that_runs(
    setup: tuple[ChannelServed, str], tmp_path: Path
) -> None:
    served, file = setup
    event = comment("@tmuxorch fix the typo in {README} for $USER; rm -rf / # as data")
    delivery = {"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "d-1"}
    # unsigned, and wrongly signed: refused, said on the log (no secret, no body), nothing added
    assert deliver(served, "/hooks/github", event, delivery)[0] == 401
    status, _ = deliver(served, "/hooks/github", event, delivery, secret="not-the-secret")
    assert status == 401
    served.wait_logged(r"hook github: refused a request from \S+: a wrong X-Hub-Signature-256")
    served.wait_logged(r"hook github: refused a request from \S+: no X-Hub-Signature-256")
    assert set(states(file)) == {"keeper"}
    # the signed one: a task, run by the channel's agent with the comment as its prompt
    status, body = deliver(served, "/hooks/github", event, delivery, secret=GH_SECRET)
    assert status == 200, body
    assert body["task"] == "gh-42-c1001" and body["live"] is True
    eventually(lambda: states(file).get("gh-42-c1001") == "succeeded", timeout=60)
    run = served.run_id()
    prompt = (tmp_path / ".tmuxorch" / "runs" / run / "prompts" / "gh-42-c1001.1.md").read_text()
    assert prompt.startswith(
        "fix the typo in {README} for $USER; rm -rf / # as data\n\n---\n"  # as written
        "GitHub issue #42 in octo/app: Typo in the README\n"
        "https://github.com/octo/app/issues/42\n\n"
        "The README says `teh`; costs {money} and $HOME.\n"
    )
    assert "Asked by @octocat in https://github.com/octo/app/issues/42#issuecomment-1001" in prompt

    def shown() -> str | None:
        log = served.call("GET", f"/api/runs/{run}/tasks/gh-42-c1001/log")[1]
        return str(log) if "> fix the typo" in str(log) else None

    assert "> fix the typo in {README} for $USER; rm -rf / # as data" in eventually(shown)
    # the same delivery again: refused; the same comment in another delivery: one task still
    assert deliver(served, "/hooks/github", event, delivery, secret=GH_SECRET)[0] == 409
    again = {**delivery, "X-GitHub-Delivery": "d-2"}
    assert deliver(served, "/hooks/github", event, again, secret=GH_SECRET)[0] == 409
    assert sorted(states(file)) == ["gh-42-c1001", "keeper"]
    said = served.output()
    assert GH_SECRET not in said and "rm -rf" not in said


def test_github_events_that_ask_nothing_or_come_from_others_add_nothing(
    setup: tuple[ChannelServed, str],
) -> None:
    served, file = setup

    def send(event: str, payload: object, delivery: str) -> tuple[int, dict[str, object]]:
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
        return deliver(served, "/hooks/github", payload, headers, secret=GH_SECRET)

    assert send("ping", {"zen": "Keep it simple.", "hook_id": 1}, "p-1")[0] == 200
    assert send("issue_comment", comment("no mention here", comment_id=2), "c-2")[0] == 202
    assert send("issue_comment", comment("mail @tmuxorchestra", comment_id=3), "c-3")[0] == 202
    edited = {**comment("@tmuxorch go", comment_id=4), "action": "edited"}
    assert send("issue_comment", edited, "c-4")[0] == 202
    assert send("push", {"ref": "refs/heads/main"}, "p-2")[0] == 202
    status, body = send("issue_comment", comment("@tmuxorch go", login="mallory"), "c-5")
    assert status == 403 and "mallory" in str(body["error"])
    served.wait_logged(
        r"hook github: refused issue_comment: mallory may not ask for tasks: not in allow"
    )
    # an issue labelled with one of the labels: a task on the whole issue
    issue = comment("")
    labelled = {**issue, "action": "labeled", "label": {"name": "agent-please"}}
    del labelled["comment"]
    status, body = send("issues", labelled, "i-1")
    assert status == 200 and body["task"] == "gh-42"
    assert send("issues", {**labelled, "label": {"name": "bug"}}, "i-2")[0] == 202
    assert sorted(states(file)) == ["gh-42", "keeper"]


def test_the_incoming_hook_adds_the_task_it_is_given_and_says_what_is_wrong(
    setup: tuple[ChannelServed, str], tmp_path: Path
) -> None:
    served, file = setup
    sign = {"secret": IN_SECRET, "header": "X-Tmuxorch-Signature-256"}
    task = {"id": "from-ci", "command": f"echo deployed > {tmp_path}/deployed"}
    assert deliver(served, "/hooks/deploy", task, {})[0] == 401
    wrong = {"secret": GH_SECRET, "header": "X-Tmuxorch-Signature-256"}
    assert deliver(served, "/hooks/deploy", task, {}, **wrong)[0] == 401
    bad = {"id": "late", "agent": "codr", "depends_on": ["nosuch"]}
    status, body = deliver(served, "/hooks/deploy", bad, {}, **sign)
    assert status == 422, body
    assert body["field"] == "task.agent" and "codr" in str(body["error"])
    fields = [e["field"] for e in body["errors"]]  # type: ignore[attr-defined]
    assert fields == ["task.agent", "task.depends_on[0]"]
    status, body = deliver(served, "/hooks/deploy", task, {}, **sign)
    assert status == 200, body
    assert body["task"] == "from-ci" and body["ok"] is True
    eventually(lambda: states(file).get("from-ci") == "succeeded", timeout=60)
    assert (tmp_path / "deployed").read_text() == "deployed\n"


def test_only_hooks_go_without_the_token(setup: tuple[ChannelServed, str]) -> None:
    served, _ = setup
    assert deliver(served, "/hooks/nosuch", {}, {}, secret="x")[0] == 404
    assert deliver(served, "/hooks/ops", {}, {}, secret="x")[0] == 404  # a webhook posts only
    where = urlparse(served.url)
    for path in ("/hooks/../api/runs", "/hooks/%2e%2e/api/runs", "/hooks/x/../../api/runs"):
        conn = http.client.HTTPConnection(str(where.hostname), where.port, timeout=30)
        conn.request("GET", path)
        assert conn.getresponse().status in (401, 404, 405), path
        conn.close()
    assert served.call("GET", "/api/runs", token=None)[0] == 401


def test_a_handle_is_a_whole_word_and_leaves_the_words_around_it() -> None:
    assert mentions("hey @TMUXORCH, look", "@tmuxorch")
    assert not mentions("mail@tmuxorch.dev", "@tmuxorch")
    assert not mentions("@tmuxorch-bot go", "@tmuxorch")
    assert without("@tmuxorch  fix it\nplease @tmuxorch", "@tmuxorch") == "fix it\nplease"


def test_serve_refuses_to_start_when_a_hook_secret_is_missing(
    tmux_server: Server, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match=r"channel github: secret: \$GH_SECRET is not set"):
        ChannelServed(
            tmux_server,
            tmp_path / "home",
            f"""
            channels:
              github: {{secret_env: GH_SECRET, run: {tmp_path}/tasks.yaml, allow: [octocat]}}
            """,
        )
