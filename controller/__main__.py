"""Allows ``python -m controller`` as an alias of the ``weightgate`` console script."""

from controller.cli import main

main()
