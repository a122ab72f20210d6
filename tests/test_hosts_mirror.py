"""Local copies of a worker's files (tmuxorch.hosts.mirror), with the worker as a local
subprocess (the same protocol as over ssh: see test_hosts_remote for that)."""

from __future__ import annotations

import os
import signal
import stat
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import eventually
from tmuxorch.hosts.mirror import Gap, Mirror
from tmuxorch.hosts.worker_client import LocalWorker, WorkerGone

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    folder = tmp_path / "remote"
    (folder / "runs" / "r1" / "exits").mkdir(parents=True)
    (folder / "runs" / "r1" / "hooks").mkdir()
    (folder / "transcripts" / "r1").mkdir(parents=True)
    return folder


@pytest.fixture
def workers(remote: Path) -> Iterator[list[LocalWorker]]:
    made: list[LocalWorker] = []
    yield made
    for worker in made:
        if worker.process.poll() is None:
            worker.__exit__()


def new_worker(remote: Path, workers: list[LocalWorker]) -> LocalWorker:
    worker = LocalWorker(str(remote))
    workers.append(worker)
    return worker


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def grow(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def test_each_kind_is_copied_byte_exact(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    mirror = Mirror(new_worker(remote, workers).client, poll=600)
    local = tmp_path / "local"
    mirror.follow("runs/r1/exits/t.1", str(local / "runs/r1/exits/t.1"), "whole")
    mirror.follow("runs/r1/hooks/t.1.jsonl", str(local / "runs/r1/hooks/t.1.jsonl"), "append")
    mirror.follow("transcripts/r1/t.1.log", str(local / "transcripts/r1/t.1.log"), "record")
    mirror.start()
    try:
        hooks = remote / "runs/r1/hooks/t.1.jsonl"
        part = remote / "transcripts/r1/t.1.log.part"
        grow(hooks, b'{"event": "start"}\n')
        grow(part, b"\x1b[1mhello\r\n")
        # copied by the thread itself (no flush): the wait answered the change
        eventually(
            lambda: (
                (local / "runs/r1/hooks/t.1.jsonl").exists()
                and (local / "runs/r1/hooks/t.1.jsonl").read_bytes() == hooks.read_bytes()
            ),
            what="the hook events copied",
        )
        everything = bytes(range(256)) * 50
        for i in range(0, len(everything), 997):
            grow(part, everything[i : i + 997])
            grow(hooks, b'{"n": %d}\n' % i)
        mirror.flush()
        assert (local / "transcripts/r1/t.1.log.part").read_bytes() == part.read_bytes()
        assert (local / "runs/r1/hooks/t.1.jsonl").read_bytes() == hooks.read_bytes()
        assert not (local / "runs/r1/exits/t.1").exists()
        exit_file = remote / "runs/r1/exits/t.1"
        (remote / "runs/r1/exits/t.1.tmp").write_bytes(b"3\n")
        os.replace(remote / "runs/r1/exits/t.1.tmp", exit_file)  # as the pane's wrapper does
        grow(part, b"the end\r\n")
        os.replace(part, remote / "transcripts/r1/t.1.log")  # tmux closed the pane
        mirror.flush()
        assert (local / "runs/r1/exits/t.1").read_bytes() == b"3\n"
        final = local / "transcripts/r1/t.1.log"
        assert final.read_bytes() == (remote / "transcripts/r1/t.1.log").read_bytes()
        assert not (local / "transcripts/r1/t.1.log.part").exists()
        for path in ("runs/r1/exits/t.1", "runs/r1/hooks/t.1.jsonl", "transcripts/r1/t.1.log"):
            assert mode(local / path) == 0o600
        for folder in ("", "runs", "runs/r1", "runs/r1/exits", "transcripts/r1"):
            assert mode(local / folder) == 0o700
        exit_file.write_bytes(b"4\n")  # rewritten whole: copied whole again
        mirror.flush()
        assert (local / "runs/r1/exits/t.1").read_bytes() == b"4\n"
        assert mirror.errors == {}
    finally:
        mirror.stop()


def test_a_link_where_a_copy_goes_is_never_followed(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    local = tmp_path / "local"
    local.mkdir()
    (local / "exit").symlink_to(target)
    (local / "hooks").symlink_to(target)
    (remote / "runs/r1/exits/t.1").write_bytes(b"0\n")
    (remote / "runs/r1/hooks/t.1.jsonl").write_bytes(b"{}\n")
    errors: list[tuple[str, str]] = []
    mirror = Mirror(
        new_worker(remote, workers).client, on_error=lambda p, why: errors.append((p, why))
    )
    mirror.follow("runs/r1/exits/t.1", str(local / "exit"), "whole")
    mirror.follow("runs/r1/hooks/t.1.jsonl", str(local / "hooks"), "append")
    mirror.start()
    try:
        mirror.flush()
    finally:
        mirror.stop()
    assert target.read_text() == "keep"
    assert (local / "exit").read_bytes() == b"0\n" and not (local / "exit").is_symlink()
    assert [p for p, _ in errors] == ["runs/r1/hooks/t.1.jsonl"]
    assert "symbolic link" in mirror.errors["runs/r1/hooks/t.1.jsonl"]


def test_paths_the_worker_refuses_are_given_up_and_the_rest_goes_on(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    (tmp_path / "secret").write_text("s3cret")
    (remote / "runs/r1/escape").symlink_to(tmp_path / "secret")
    mirror = Mirror(new_worker(remote, workers).client, poll=600)
    local = tmp_path / "local"
    mirror.follow("../secret", str(local / "a"), "whole")
    mirror.follow("runs/r1/escape", str(local / "b"), "append")
    mirror.follow("runs/r1/exits/t.1", str(local / "exit"), "whole")
    mirror.start()
    try:
        (remote / "runs/r1/exits/t.1").write_bytes(b"0\n")
        mirror.flush()
        assert (local / "exit").read_bytes() == b"0\n"
    finally:
        mirror.stop()
    assert sorted(mirror.errors) == ["../secret", "runs/r1/escape"]
    assert "outside the root" in mirror.errors["../secret"]
    assert not (local / "a").exists() and not (local / "b").exists()


def test_a_lost_worker_is_reported_and_reconnect_carries_on(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    first = new_worker(remote, workers)
    lost = threading.Event()
    reasons: list[str] = []

    def on_lost(why: str) -> None:
        reasons.append(why)
        lost.set()

    mirror = Mirror(first.client, on_lost=on_lost)
    local = tmp_path / "local"
    part = remote / "transcripts/r1/t.1.log.part"
    hooks = remote / "runs/r1/hooks/t.1.jsonl"
    mirror.follow("transcripts/r1/t.1.log", str(local / "t.1.log"), "record")
    mirror.follow("runs/r1/hooks/t.1.jsonl", str(local / "hooks.jsonl"), "append")
    mirror.follow("runs/r1/exits/t.1", str(local / "exit"), "whole")
    mirror.start()
    grow(part, b"before the cut\n")
    grow(hooks, b'{"a": 1}\n')
    mirror.flush()
    first.process.send_signal(signal.SIGKILL)
    assert lost.wait(60)
    assert mirror.lost is not None and reasons == [mirror.lost]
    with pytest.raises(WorkerGone):
        mirror.flush()
    grow(part, b"during the cut\n")  # the remote side goes on meanwhile
    grow(hooks, b'{"b": 2}\n')
    (remote / "runs/r1/exits/t.1").write_bytes(b"0\n")
    gaps = mirror.reconnect(new_worker(remote, workers).client)
    try:
        assert gaps == [Gap(str(local / "t.1.log"), 15, 15)] == mirror.gaps
        mirror.flush()
        assert (local / "t.1.log.part").read_bytes() == b"before the cut\nduring the cut\n"
        assert (local / "hooks.jsonl").read_bytes() == b'{"a": 1}\n{"b": 2}\n'
        assert (local / "exit").read_bytes() == b"0\n"
        assert mirror.lost is None
    finally:
        mirror.stop()


def test_a_mirror_started_again_carries_on_from_the_local_copies(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (remote / "runs/r1/hooks/t.1.jsonl").write_bytes(b"one\ntwo\n")
    (local / "hooks").write_bytes(b"one\n")  # copied by an earlier mirror
    (remote / "transcripts/r1/t.1.log").write_bytes(b"done")
    (local / "t.1.log").write_bytes(b"done")
    mirror = Mirror(new_worker(remote, workers).client)
    mirror.follow("runs/r1/hooks/t.1.jsonl", str(local / "hooks"), "append")
    mirror.follow("transcripts/r1/t.1.log", str(local / "t.1.log"), "record")
    mirror.start()
    try:
        mirror.flush()
    finally:
        mirror.stop()
    assert (local / "hooks").read_bytes() == b"one\ntwo\n"
    assert sorted(os.listdir(local)) == ["hooks", "t.1.log"]


def test_following_more_wakes_a_long_wait(
    remote: Path, tmp_path: Path, workers: list[LocalWorker]
) -> None:
    mirror = Mirror(new_worker(remote, workers).client, poll=3600)
    mirror.follow("runs/r1/exits/a", str(tmp_path / "a"), "whole")
    mirror.start()
    try:
        mirror.flush()  # now waiting for an hour on "a"
        (remote / "runs/r1/exits/b").write_bytes(b"1\n")
        mirror.follow("runs/r1/exits/b", str(tmp_path / "b"), "whole")
        eventually(lambda: (tmp_path / "b").exists(), what="b copied without a flush")
        mirror.drop("runs/r1/exits/a")
        (remote / "runs/r1/exits/a").write_bytes(b"0\n")
        mirror.flush()
        assert not (tmp_path / "a").exists()
    finally:
        mirror.stop()
