"""Pure rules of the capture service: no I/O, no framework, no wall clock (time comes in as an argument)."""
