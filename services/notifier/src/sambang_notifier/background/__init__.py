"""Loops the runtime starts and stops for the notifier (``ServiceSpec.background``): the dispatcher that
sends due messages, the stream recorder of the shared queue's stream events, the housekeeping."""
