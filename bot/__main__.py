"""``python -m bot``: the same command line as ``msbot``."""

from bot.cli import main

main()
