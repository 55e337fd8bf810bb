"""Adapters to the systems the gateway calls over HTTP: SIMKIM and capture."""
