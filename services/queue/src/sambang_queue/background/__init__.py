"""Work outside requests: the data-key rotation (`make rotate-data-key`)."""
