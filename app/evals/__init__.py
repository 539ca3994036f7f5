"""Evals: photo → SKU, text → product and intent, whole conversations, with gates for CI.

`kramar eval` (app/evals/commands.py) runs the suites of a dataset folder (evals/ by default, see
evals/README.md) against a scratch copy of the shop on the configured database server.
"""
