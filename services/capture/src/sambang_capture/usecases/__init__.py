"""Changes and reads of capture that more than one route needs, or that are longer than a route should be.

A use case is a plain ``async def verb_noun(uow, ..., now)`` that calls the domain and the stores and
``uow.emit``s; it never commits (the route does).
"""
