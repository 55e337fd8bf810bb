"""Every SQL statement of the capture service, one module per aggregate."""
