"""The `hotline` command: one parser, each subcommand group in its own module."""
