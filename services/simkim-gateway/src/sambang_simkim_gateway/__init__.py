"""Sambang SIMKIM gateway: readiness, one submission per application, holds, issuance and pickup date."""
