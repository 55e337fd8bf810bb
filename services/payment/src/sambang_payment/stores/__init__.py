"""Every SQL statement of the payment service, one module per aggregate; nothing else writes SQL."""
