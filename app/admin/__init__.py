"""The manager's side: admin API auth (and, later, the web panel)."""
