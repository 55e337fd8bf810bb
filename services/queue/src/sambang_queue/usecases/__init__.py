"""Changes of the queue reachable from more than one entry point, or longer than a route should be.

Each is a plain ``async def verb_noun(uow, ..., now)`` that calls the domain and the stores and
``uow.emit``s. None commits: the route that calls one commits, and so does the consumer after a handler
(the one exception is the booking rush, whose store change commits through ``uow.run_atomic``).

- ``registration``: booking places (alone or as a family) and registering a priority walk-in
- ``checkin``: admitting an applicant (check-in, walk-in), pickup tickets
- ``lines``: the waiting lines: the near-turn notice and no-shows
- ``visits``: closing a visit (at the last counter, or when capture and interview are done)
- ``arrival``: the signed arrival link, issued once paid and confirmed by the applicant
- ``offices``: an office's rules, saved and published (by an admin, or the development seed)
"""
