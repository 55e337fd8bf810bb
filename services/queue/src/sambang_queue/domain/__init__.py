"""Pure rules of the queue service: no database, HTTP or bus (STYLE.md rule 2). Time always comes in
as an argument. One module per topic; import from the module (``from ..domain.status import Status``):

- ``status``: the application's status and its progression
- ``times``: office time, the booking window and the check-in window
- ``booking``: applicants, appointments, passport validity, receipts, the registered event
- ``lanes``: priority categories, lanes, stages and who calls them
- ``visits``: visit purposes and states, the completed visit
- ``calendar``: working days and slot plans
- ``arrival``: signed, expiring arrival-link tokens
- ``statistics``: percentiles, duration summaries, the issuance target
- ``reports``: the office report's figures and CSV
"""
