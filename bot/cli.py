"""The ``tthc`` console script: one entry point, one subcommand group per package."""

from __future__ import annotations

import click

from indexer.cli import eval_, index, search
from knowledge.cli import kb


@click.group()
@click.version_option(package_name="tro-ly-tthc")
def main() -> None:
    """Trợ lý TTHC: an assistant for Vietnamese administrative procedures.

    \b
    Quick start:
      tthc kb import --bundled     # load the bundled public data into SQLite
      tthc kb stats                # what is in the knowledge base
    """


main.add_command(kb)
main.add_command(index)
main.add_command(search)
main.add_command(eval_)


if __name__ == "__main__":
    main()
