"""Pure payment rules, one module per topic; import from the submodule (nothing is re-exported).

No database, HTTP, bus or wall clock here: the current instant comes in as an argument, and broken
rules raise ``DomainError`` codes (errors.py).
"""
