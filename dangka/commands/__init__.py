"""Sub-commands of the `dangka` command line, one module each (see dangka.cli.COMMANDS)."""
