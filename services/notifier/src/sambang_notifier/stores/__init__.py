"""Every SQL statement of the notifier, one module per aggregate."""
