"""The gateway's changes reachable from more than one entry point (the worker's loop, a route, a handler)."""
