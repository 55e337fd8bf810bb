"""Changes of the notifier that more than one entry point makes (several handlers, two background loops).

A use case is a plain ``async def verb_noun(uow, ..., now)`` that calls the domain and the stores and
``uow.emit``s; it never commits (the handler's consumer, or the loop, does).
"""
