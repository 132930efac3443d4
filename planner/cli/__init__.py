"""``python -m planner``: fit, catalogue, plan and frontier subcommands."""
