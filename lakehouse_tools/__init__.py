"""The offline tools around the lakehouse: the ``lakehouse`` command, the local runner, the Reddit replay server.

Nothing that ships to Lambda or Glue imports this package (an import-linter contract in
``pyproject.toml`` enforces it); it imports the runtime (``lakehouse``, ``lambdas``, ``glue_jobs``).
"""
