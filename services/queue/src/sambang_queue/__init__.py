"""Sambang queue service: offices, slots, pre-applications, arrival, check-in, tickets, sambang worklist, pickup, status, reports."""
