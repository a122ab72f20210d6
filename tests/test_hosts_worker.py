"""The remote worker (``python -m tmuxorch.hosts.worker``), run as a local subprocess and
spoken to through its client, as it will be over ssh: every op, byte-exact data, and
everything it must refuse."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tmuxorch.hosts.worker_client import LocalWorker, WorkerClient, WorkerError
from tmuxorch.tmux.client import parse_version

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BINARY = bytes(range(256)) * 3 + b"\r\n\x00\xff"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def worker(root: Path) -> Iterator[WorkerClient]:
    local = LocalWorker(str(root))
    with local as client:
        yield client
    assert local.process.returncode == 0


def refused(call: object, kind: str) -> str:
    assert callable(call)
    with pytest.raises(WorkerError) as info:
        call()
    assert info.value.kind == kind, info.value
    return info.value.message


def test_hello_says_what_runs_there(worker: WorkerClient, root: Path) -> None:
    hello = worker.hello()
    assert hello["protocol"] == 1
    assert hello["root"] == os.path.realpath(root)
    assert hello["python"] == ".".join(map(str, sys.version_info[:3]))
    shown = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=True).stdout
    assert hello["tmux"] == ".".join(map(str, parse_version(shown)))  # "tmux 3.3a": 3.3
    assert hello["watch"] == "watchfiles"
    assert hello["home"] == os.path.expanduser("~")


def test_write_read_and_stat_keep_every_byte(worker: WorkerClient, root: Path) -> None:
    worker.mkdir("run/a/b")
    assert worker.write("run/a/b/data.bin", BINARY) == len(BINARY)
    assert (root / "run/a/b/data.bin").read_bytes() == BINARY
    assert stat.S_IMODE((root / "run/a/b/data.bin").stat().st_mode) == 0o600
    for folder in ("run", "run/a", "run/a/b"):
        assert stat.S_IMODE((root / folder).stat().st_mode) == 0o700
    chunk = worker.read("run/a/b/data.bin")
    assert (chunk.data, chunk.offset, chunk.size, chunk.eof) == (BINARY, 0, len(BINARY), True)
    middle = worker.read("run/a/b/data.bin", offset=250, length=10)
    assert middle.data == BINARY[250:260] and not middle.eof and middle.size == len(BINARY)
    past = worker.read("run/a/b/data.bin", offset=len(BINARY) + 5)
    assert past.data == b"" and past.eof
    assert worker.write("run/a/b/data.bin", b"more", append=True) == len(BINARY) + 4
    assert worker.read_all("run/a/b/data.bin", offset=len(BINARY)) == b"more"
    info = worker.stat("run/a/b/data.bin")
    assert info is not None
    assert (info.kind, info.size, info.mode) == ("file", len(BINARY) + 4, 0o600)
    assert info.mtime_ns == (root / "run/a/b/data.bin").stat().st_mtime_ns
    top = worker.stat(str(root / "run"))  # an absolute path inside the root
    assert top is not None and top.kind == "folder"
    assert worker.stat("run/nothing") is None
    assert worker.write("run/empty", b"") == 0 and worker.read("run/empty").data == b""
    assert worker.write("run/a/b/data.bin", b"short") == 5  # emptied first


def test_a_big_file_is_read_in_pieces(worker: WorkerClient, root: Path) -> None:
    data = os.urandom(5 * 1024 * 1024)
    (root / "big").write_bytes(data)
    first = worker.read("big")
    assert len(first.data) == 4 * 1024 * 1024 and not first.eof
    assert worker.read_all("big") == data


def test_remove_takes_files_empty_folders_and_links_themselves(
    worker: WorkerClient, root: Path, tmp_path: Path
) -> None:
    (root / "f").write_text("x")
    (root / "d").mkdir()
    (root / "full").mkdir()
    (root / "full" / "x").write_text("x")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (root / "link").symlink_to(outside)
    assert worker.remove("f") and not (root / "f").exists()
    assert worker.remove("d") and not (root / "d").exists()
    assert worker.remove("link") and not os.path.lexists(root / "link")
    assert outside.read_text() == "keep"
    assert worker.remove("f") is False
    refused(lambda: worker.remove("full"), "not_empty")
    refused(lambda: worker.remove("."), "bad_request")


def test_nothing_outside_the_root(worker: WorkerClient, root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    (tmp_path / "elsewhere").mkdir()
    for path in ("../secret", "run/../../secret", str(secret), "/etc/passwd"):
        assert "outside the root" in refused(lambda p=path: worker.read(p), "outside")
        refused(lambda p=path: worker.write(p, b"x"), "outside")
        refused(lambda p=path: worker.stat(p), "outside")
        refused(lambda p=path: worker.remove(p), "outside")
        refused(lambda p=path: worker.mkdir(p), "outside")
    (root / "out").symlink_to(secret)
    (root / "away").symlink_to(tmp_path / "elsewhere")
    message = refused(lambda: worker.read("out"), "outside")
    assert "symbolic link" in message
    refused(lambda: worker.stat("out"), "outside")
    refused(lambda: worker.write("away/new", b"x"), "outside")
    refused(lambda: worker.mkdir("away/new"), "outside")
    refused(lambda: worker.wait(["out"], 0), "outside")
    assert not (tmp_path / "elsewhere" / "new").exists()
    assert secret.read_text() == "s3cret"
    refused(lambda: worker.write("out", b"x"), "symlink")  # a link at its name: never followed
    assert secret.read_text() == "s3cret"


def test_links_inside_the_root_are_read_through(worker: WorkerClient, root: Path) -> None:
    (root / "real.txt").write_bytes(b"inside")
    (root / "alias.txt").symlink_to(root / "real.txt")
    assert worker.read("alias.txt").data == b"inside"
    refused(lambda: worker.write("alias.txt", b"x"), "symlink")
    assert (root / "real.txt").read_bytes() == b"inside"


def test_errors_say_what_went_wrong(worker: WorkerClient, root: Path) -> None:
    (root / "d").mkdir()
    (root / "f").write_text("x")
    refused(lambda: worker.read("missing"), "missing")
    refused(lambda: worker.read("d"), "not_a_file")
    refused(lambda: worker.write("no/such/folder/f", b"x"), "missing")
    refused(lambda: worker.mkdir("f/sub"), "not_a_folder")
    refused(lambda: worker.call("read", {"path": "f", "offset": -1}), "bad_request")
    refused(lambda: worker.call("write", {"path": "f", "data": "not base64!"}), "bad_request")
    refused(lambda: worker.call("stat", {}), "bad_request")
    message = refused(lambda: worker.call("chmod", {"path": "f"}), "unknown_op")
    assert "known: cancel, hello, mkdir, read, remove, stat, wait, write" in message
    assert worker.hello()["protocol"] == 1  # it goes on


def test_wait_answers_when_a_file_changes(worker: WorkerClient, root: Path) -> None:
    (root / "log").write_bytes(b"a")
    before = (root / "log").stat()
    # as the client saw them: without it, the wait compares with what is there when its
    # thread begins, which under load may be after the write below (then it waits on)
    seen = {"log": [before.st_size, before.st_mtime_ns], "exit": None}
    pending = worker.send("wait", {"paths": ["log", "exit"], "timeout": 600, "known": seen})
    assert worker.stat("log") is not None  # answered while the wait waits
    (root / "exit").write_text("0\n")
    answer = pending.result(60)
    assert answer["changed"] == ["exit"]
    assert answer["states"] == {
        "log": [before.st_size, before.st_mtime_ns],
        "exit": [2, (root / "exit").stat().st_mtime_ns],
    }


def test_wait_compares_with_what_the_client_saw(worker: WorkerClient, root: Path) -> None:
    (root / "log").write_bytes(b"abc")
    now = (root / "log").stat()
    changes = worker.wait(["log"], 600, known={"log": (1, now.st_mtime_ns)})
    assert changes.changed == ("log",) and changes.states == {"log": (3, now.st_mtime_ns)}
    changes = worker.wait(["log", "gone"], 600, known={"gone": (1, 1)})
    assert changes.changed == ("gone",) and changes.states["gone"] is None
    quiet = worker.wait(["log"], 0, known={"log": (3, now.st_mtime_ns)})
    assert quiet.changed == ()  # the timeout passed


def raw_worker(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tmuxorch.hosts.worker", "--root", str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_malformed_line_is_answered_and_the_worker_goes_on(root: Path) -> None:
    worker = raw_worker(root)
    lines = b'not json\n[1, 2]\n{"op": "stat"\n\n{"id": "x", "op": "stat", "path": "a"}\n'
    out, err = worker.communicate(lines, timeout=60)
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["id"], a.get("error", {}).get("kind")) for a in answers] == [
        (None, "malformed"),
        (None, "malformed"),
        (None, "malformed"),
        ("x", None),
    ]
    assert answers[3]["result"] == {"exists": False}
    assert worker.returncode == 0 and err == b""


def test_the_end_of_input_ends_it_even_with_a_wait_pending(root: Path) -> None:
    worker = raw_worker(root)
    request = {"id": 1, "op": "wait", "paths": ["never"], "timeout": 3600}
    out, err = worker.communicate(json.dumps(request).encode() + b"\n", timeout=60)
    assert worker.returncode == 0 and err == b""
    assert out in (b"", b'{"id":1,"result":{"changed":[],"states":{"never":null}}}\n')


def test_a_root_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    worker = raw_worker(tmp_path / "nothing")
    out, err = worker.communicate(b"", timeout=60)
    assert worker.returncode == 2 and out == b""
    assert b"is not a folder" in err


def test_wait_for_a_file_whose_folder_is_not_made_yet(worker: WorkerClient, root: Path) -> None:
    pending = worker.send("wait", {"paths": ["later/exit"], "timeout": 600})  # polled
    assert worker.stat("later") is None
    (root / "later").mkdir()
    (root / "later" / "exit").write_text("1\n")
    assert pending.result(60)["changed"] == ["later/exit"]


def test_cancel_makes_a_wait_answer_now(worker: WorkerClient, root: Path) -> None:
    pending = worker.start_wait(["never"], 3600)
    assert worker.cancel(pending.request_id) == 1
    assert pending.changes(60).changed == ()
    assert worker.cancel(pending.request_id) == 0  # answered already: nothing to cancel
    refused(lambda: worker.call("cancel", {"ids": 3}), "bad_request")


def test_a_root_under_home_is_made_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    argv = [sys.executable, "-m", "tmuxorch.hosts.worker", "--root", "~/a/b", "--create"]
    typo = subprocess.run(argv, input=b"", capture_output=True, env=env, check=False)
    assert typo.returncode == 2 and b"no folder " + bytes(home / "a") in typo.stderr
    assert not (home / "a").exists()  # a folder above the root is never made (a typo?)
    (home / "a").mkdir()
    done = subprocess.run(
        argv, input=b'{"id": 1, "op": "hello"}\n', capture_output=True, env=env, check=True
    )
    assert json.loads(done.stdout)["result"]["root"] == str(home / "a" / "b")
    assert stat.S_IMODE((home / "a" / "b").stat().st_mode) == 0o700
    nothing = subprocess.run([*argv[:-1]], input=b"", capture_output=True, env=env, check=False)
    assert nothing.returncode == 0  # exists now
    (home / "a" / "b").rmdir()
    nothing = subprocess.run([*argv[:-1]], input=b"", capture_output=True, env=env, check=False)
    assert nothing.returncode == 2 and b"is not a folder" in nothing.stderr  # not without --create
