"""Every SQL statement of the simulator, one module per aggregate."""
