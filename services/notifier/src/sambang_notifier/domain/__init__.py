"""The notifier's rules: which message an event becomes, templates, delivery outcomes, what streams show.

Pure: no I/O, no framework, no clock (time comes in as an argument).
"""
