"""``python -m planner``: fit, catalogue, plan, frontier and report subcommands."""
