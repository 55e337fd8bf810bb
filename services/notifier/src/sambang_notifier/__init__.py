"""Sambang notifier: applicant e-mail and SMS in Bahasa Indonesia and English, live streams to tablets and displays."""
