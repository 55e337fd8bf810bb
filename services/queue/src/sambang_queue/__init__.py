"""Sambang queue service: slots, pre-applications, arrival, check-in, tickets, sambang, pickup, status, reports."""
