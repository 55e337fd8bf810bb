"""Loops the runtime starts and stops for capture (``ServiceSpec.background``)."""
