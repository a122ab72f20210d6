"""What went wrong reaching a host over ssh, said so a person knows what to do.

``ssh`` reports its own failures on stderr with exit status 255; :func:`classify` turns that
text into one of the exceptions below. Each message names the host as the user wrote it and
the next step to take.
"""

from __future__ import annotations

import re


class SshError(Exception):
    """A host could not be reached or used over ssh."""

    def __init__(self, host: str, message: str, stderr: str = "") -> None:
        self.host = host
        self.stderr = stderr
        super().__init__(message)


class HostKeyUnknown(SshError):
    """ssh has never seen this host's key, and tmuxorch never answers its question."""


class HostKeyChanged(SshError):
    """The host's key differs from the one in known_hosts."""


class AuthFailed(SshError):
    """The server refused every key ssh could offer without asking a person."""


class Unreachable(SshError):
    """No connection: refused, timed out, unknown name, no route."""


class CommandTimeout(SshError):
    """A remote command outlived its deadline (the local ssh client was stopped)."""


class RemoteProgramMissing(SshError):
    """A program tmuxorch needs is not on the remote PATH of a non-interactive ssh command."""

    def __init__(self, host: str, programs: list[str], stderr: str = "", by_hand: str = "") -> None:
        self.programs = programs
        names = ", ".join(programs)
        by_hand = by_hand or f"ssh {host}"
        super().__init__(
            host,
            f"{host} has no {names} on the PATH that non-interactive ssh commands get: "
            f"install {names} there, or check that PATH with: {by_hand} 'echo $PATH' "
            "(a PATH set only in an interactive .bashrc is not seen)",
            stderr,
        )


_UNREACHABLE = (
    "Connection refused",
    "Connection timed out",
    "Operation timed out",
    "timed out during banner exchange",
    "Could not resolve hostname",
    "No route to host",
    "Network is unreachable",
    "Connection closed by",
    "Connection reset by",
)


def classify(host: str, stderr: str, by_hand: str = "") -> SshError:
    """The exception for ssh's own failure message ``stderr`` (ssh exited 255).

    ``by_hand`` is the ssh command line a person would type to reach the host (with the
    options tmuxorch was given), quoted in the advice; ``ssh HOST`` when not given.
    """
    text = stderr.strip()
    last = _last_line(text)
    by_hand = by_hand or f"ssh {host}"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or re.search(
        r"Host key for \S+ has changed", text
    ):
        return HostKeyChanged(
            host,
            f"{host}'s host key is not the one ssh knows (known_hosts): this may be an attack, "
            "or the host was reinstalled. Check the new key with its owner, then remove the old "
            f"one ({_removal(text)}) and connect once by hand: {by_hand}",
            text,
        )
    if "Host key verification failed" in text or "host key is known for" in text:
        return HostKeyUnknown(
            host,
            f"ssh does not know {host}'s host key yet, and tmuxorch never accepts one for you: "
            f"connect once by hand ({by_hand}), check the fingerprint, and accept it",
            text,
        )
    if "Permission denied" in text or "Too many authentication failures" in text:
        return AuthFailed(
            host,
            f"ssh could not log in to {host} without asking (tmuxorch runs ssh with "
            "BatchMode=yes, so no password or passphrase prompt): load your key into ssh-agent "
            "(ssh-add) or name it with IdentityFile in ~/.ssh/config, and check that "
            f"`{by_hand} -o BatchMode=yes true` works. ssh said: {last}",
            text,
        )
    for sign in _UNREACHABLE:
        if sign in text:
            return Unreachable(host, f"cannot reach {host}: {last}", text)
    return SshError(host, f"ssh to {host} failed: {last or 'exit status 255, no message'}", text)


def _removal(text: str) -> str:
    """ssh's own "remove with:" command for the stale key, else the general form."""
    found = re.search(r"remove with:\s*\n\s*(ssh-keygen [^\n]+)", text)
    return found.group(1).strip() if found else "ssh-keygen -R HOST"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class WorkerFailed(SshError):
    """tmuxorch's worker on the host did not start, or did not answer as it should."""


class TmuxorchMissing(WorkerFailed):
    """The host's Python has no tmuxorch (or one too old to have a worker)."""


class ProtocolMismatch(WorkerFailed):
    """The host's tmuxorch speaks another version of the worker protocol."""


class PythonMissing(RemoteProgramMissing):
    """The Python named for the host is not there."""

    def __init__(self, host: str, python: str, stderr: str = "", by_hand: str = "") -> None:
        super().__init__(host, [python], stderr, by_hand)
        if python.startswith(("/", "~/")):  # a path: no PATH has a say in it
            self.args = (
                f"{host} has no {python}: fix the host's python: setting (the path of a "
                "Python 3.10 or newer there)",
            )
            return
        self.args = (
            f"{self.args[0]}; or name the Python to use in the host's settings "
            "(python: /path/to/python3)",
        )
