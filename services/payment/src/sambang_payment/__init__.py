"""Sambang payment service: fee schedule, bills and billing codes, bank notifications, settlement reconciliation."""
