"""The document checklist (verification (verifikasi berkas)) per service type and age.

What the office's SOP asks of every applicant, after the passport regulation (Permenkumham 8/2014
and its amendments): an adult shows the KTP, the family card (KK) and one civil record (birth
certificate, marriage certificate or diploma); renewals and damaged replacements bring the old
passport, a lost passport a police report; a child (below 17, the KTP age) shows the KK, the birth
certificate, both parents' KTP and the parents' marriage certificate; everybody hands in the
application form (Perdim 11) and the signed statement letter (surat pernyataan).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sambang_contracts import DocumentKind, DocumentStatus, ServiceType

#: Indonesians get a KTP (identity card) at 17; below it the parents' documents stand in.
ADULT_AGE = 17


class Holder(StrEnum):
    """Whose document it is: the applicant's, or a child applicant's parents'."""

    APPLICANT = "APPLICANT"
    FATHER = "FATHER"
    MOTHER = "MOTHER"
    PARENTS = "PARENTS"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of the checklist: any one of ``kinds``, held by ``holder``."""

    key: str
    kinds: tuple[DocumentKind, ...]
    holder: Holder = Holder.APPLICANT


_CIVIL_RECORD = (DocumentKind.BIRTH_CERTIFICATE, DocumentKind.MARRIAGE_CERTIFICATE, DocumentKind.DIPLOMA)


def checklist(service_type: ServiceType, age_years: int) -> tuple[Requirement, ...]:
    """The documents an applicant of this age must show for this service type."""
    if age_years >= ADULT_AGE:
        lines = [
            Requirement("KTP", (DocumentKind.KTP,)),
            Requirement("KK", (DocumentKind.KK,)),
            Requirement("CIVIL_RECORD", _CIVIL_RECORD),
        ]
    else:
        lines = [
            Requirement("KK", (DocumentKind.KK,)),
            Requirement("BIRTH_CERTIFICATE", (DocumentKind.BIRTH_CERTIFICATE,)),
            Requirement("FATHER_KTP", (DocumentKind.KTP,), Holder.FATHER),
            Requirement("MOTHER_KTP", (DocumentKind.KTP,), Holder.MOTHER),
            Requirement("PARENTS_MARRIAGE_CERTIFICATE", (DocumentKind.MARRIAGE_CERTIFICATE,), Holder.PARENTS),
        ]
    if service_type in (ServiceType.RENEWAL, ServiceType.REPLACEMENT_DAMAGED):
        lines.append(Requirement("OLD_PASSPORT", (DocumentKind.OLD_PASSPORT,)))
    if service_type is ServiceType.REPLACEMENT_LOST:
        lines.append(Requirement("POLICE_REPORT", (DocumentKind.POLICE_REPORT,)))
    lines += [
        Requirement("PERDIM_11", (DocumentKind.PERDIM_11,)),
        Requirement("STATEMENT_LETTER", (DocumentKind.STATEMENT_LETTER,)),
    ]
    return tuple(lines)


DocumentKey = tuple[DocumentKind, Holder]


def unmet(requirements: Iterable[Requirement], checked: Mapping[DocumentKey, DocumentStatus]) -> list[Requirement]:
    """The requirements no checked document meets.

    A MISMATCH meets its line: the document is there and the mismatch is recorded as a
    nonconformance for the interview to weigh; only a MISSING or unchecked document is missing.
    """
    present = {key for key, status in checked.items() if status is not DocumentStatus.MISSING}
    return [r for r in requirements if not any((kind, r.holder) in present for kind in r.kinds)]


def holder_note(holder: Holder) -> str | None:
    """The machine note a parent's document travels with on ``capture.documents.verified``
    (e.g. ``holder=FATHER``): the contract knows every kind but no holders yet."""
    return None if holder is Holder.APPLICANT else f"holder={holder.value}"
