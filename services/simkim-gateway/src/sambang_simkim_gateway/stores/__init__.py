"""Every SQL statement of the gateway, one module per aggregate."""
