"""Other hosts: agents on machines reached through the user's own OpenSSH (issue 15)."""
