"""Loops the runtime starts and stops with the service (``ServiceSpec.background``)."""
