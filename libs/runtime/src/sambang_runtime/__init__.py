"""Sambang runtime: the plumbing every service runs on."""
