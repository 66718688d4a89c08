"""Command-line interface (``jimnet``); the typer app is :data:`jimnet.cli.main.app`."""
