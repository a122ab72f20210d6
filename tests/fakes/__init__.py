"""Local stand-ins of the services channels talk to (the SDKs are real; only the far end
is here): each an aiohttp server on a free loopback port, started by the test."""
