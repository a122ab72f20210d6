"""Local stand-ins of the services channels talk to (their HTTP APIs, on 127.0.0.1)."""
