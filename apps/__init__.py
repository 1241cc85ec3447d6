"""The faces of chitieu: the `chitieu` command line (cli.py) and the units' portal (portal/).

apps may import flows, tasks and chitieu; nothing imports apps.
"""
