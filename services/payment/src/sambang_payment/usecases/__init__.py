"""The payment service's changes that more than one entry point makes, or that are longer than a
route should be: plain ``async def verb_noun(uow, ..., now)`` functions that call the domain and the
stores and ``uow.emit``. Routes commit after calling them; handlers leave the commit to the consumer.
"""
