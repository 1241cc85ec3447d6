"""The faces of chitieu beside its command line (apps may import flows, tasks and chitieu; nothing imports apps)."""
