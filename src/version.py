"""The one place the version is written: ``server.py --version`` and pyproject.toml read it."""

__version__ = "1.1.0"
