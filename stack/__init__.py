"""The embedded local stack: a genuine argilla-server with an in-memory search engine, and a Redis.

Keep this module free of imports: ``stack.engine`` and ``stack.argilla_entry`` run inside the
Argilla server's own virtualenv, where alloop's dependencies are not installed.
"""
