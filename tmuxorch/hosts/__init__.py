"""Other hosts, reached through the user's own OpenSSH (issue 15, in progress): one
connection per host (:mod:`.ssh`), and the remote worker for files there (:mod:`.worker`,
:mod:`.worker_client`). Runs do not use hosts yet."""
