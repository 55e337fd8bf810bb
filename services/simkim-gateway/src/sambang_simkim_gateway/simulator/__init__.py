"""The SIMKIM simulator: SIMKIM as the gateway sees it, faults included, for development and tests.

Its own app (port 8099, prefix ``/simkim/``) with its own database; never run in production.
"""
