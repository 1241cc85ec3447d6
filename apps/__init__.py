"""The faces of chitieu: the `chitieu` command line (cli.py); the portal joins them here."""
