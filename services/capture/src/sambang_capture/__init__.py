"""Sambang capture service: document check, photo, fingerprints, signature, interview (wawancara)."""
