"""Who each receipt's messages go to: the applicant's name, language and contacts, encrypted at rest."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import ApplicationRegistered
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..domain.messages import Applicant, language_of
from ..models import recipient


def _context(field: str, receipt: str) -> str:
    # Bound to the row: a ciphertext copied onto another receipt does not decrypt.
    return f"recipient.{field}:{receipt}"


async def remember(uow: UnitOfWork, data: ApplicationRegistered, *, now: dt.datetime) -> None:
    """Keep (or refresh) the applicant of a registration."""
    receipt = data.receipt_number
    person = data.applicant
    cipher = uow.cipher
    values = {
        "receipt_number": receipt,
        "office": data.office,
        "language": person.language.value,
        "name_enc": cipher.encrypt(person.full_name, context=_context("name", receipt)),
        "email_enc": cipher.encrypt(person.email, context=_context("email", receipt)) if person.email else None,
        "phone_enc": cipher.encrypt(person.phone, context=_context("phone", receipt)) if person.phone else None,
        "registered_at": now,
    }
    conn = await uow.session.connection()
    await upsert(conn, recipient, values, key=["receipt_number"], update=[k for k in values if k != "receipt_number"])


async def applicant(uow: UnitOfWork, receipt: str) -> Applicant | None:
    """The applicant of a receipt, decrypted; None before its registration arrived."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(recipient).where(recipient.c.receipt_number == receipt))).first()
    if row is None:
        return None
    cipher = uow.cipher
    return Applicant(
        name=cipher.decrypt(row.name_enc, context=_context("name", receipt)),
        language=language_of(row.language),
        email=cipher.decrypt(row.email_enc, context=_context("email", receipt)) if row.email_enc else None,
        phone=cipher.decrypt(row.phone_enc, context=_context("phone", receipt)) if row.phone_enc else None,
    )
