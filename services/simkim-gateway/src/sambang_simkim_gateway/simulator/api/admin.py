"""``/simkim/_admin``: what tests and demos set (watch list, passports in force, faults, issuance delay) and
what the simulator received (so tests can prove "exactly once"). No token: the simulator never runs in
production (its app refuses to start there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts.values import Text
from sambang_runtime.service import UowDep

from ..domain import Faults
from ..stores import applications, registers, violations
from .deps import ContextDep

router = APIRouter(prefix="/simkim/_admin", tags=["simkim admin"])

NikText = Annotated[str, Field(pattern=r"^[0-9]{16}$")]


class Watchlist(BaseModel):
    """The whole watch list (daftar cekal): NIKs."""

    niks: list[NikText] = Field(default_factory=list, max_length=100_000)


class ActivePassport(BaseModel):
    """A passport in force."""

    nik: NikText
    passport_number: Text = Field(min_length=1, max_length=20)


class ActivePassports(BaseModel):
    """The whole register of passports in force."""

    passports: list[ActivePassport] = Field(default_factory=list, max_length=100_000)


class Entries(BaseModel):
    """How many entries a register now holds."""

    entries: int


class FaultSettings(BaseModel):
    """Faults to inject into every SIMKIM call (not into these admin calls)."""

    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of calls answered 500, at random")
    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Delay before each answer, after the work")
    down: bool = Field(default=False, description="Every call answered 503")


class Issuance(BaseModel):
    """Seconds from acceptance (or release of a hold) to issuance."""

    delay_seconds: float = Field(ge=0, le=30 * 24 * 3600)


class Stats(BaseModel):
    """What the simulator received."""

    applications: int = Field(description="Distinct applications (receipt numbers)")
    submissions_received: int = Field(description="Submissions received, repeats included")
    received_by_receipt: dict[str, int]
    by_status: dict[str, int]
    violations: int
    violation_reports_received: int
    violations_by_receipt: dict[str, int]
    refused_by_faults: dict[str, int]


@router.put("/watchlist", response_model=Entries)
async def replace_watchlist(body: Watchlist, uow: UowDep) -> Entries:
    """Replace the watch list."""
    n = await registers.replace_watchlist(uow, [uow.cipher.blind_index(n, purpose="nik") for n in body.niks])
    await uow.commit()
    return Entries(entries=n)


@router.put("/passports", response_model=Entries)
async def replace_passports(body: ActivePassports, uow: UowDep) -> Entries:
    """Replace the register of passports in force."""
    pairs = [(uow.cipher.blind_index(p.nik, purpose="nik"), p.passport_number) for p in body.passports]
    n = await registers.replace_passports(uow, pairs)
    await uow.commit()
    return Entries(entries=n)


@router.get("/faults", response_model=FaultSettings)
async def read_faults(ctx: ContextDep) -> FaultSettings:
    """The faults in force."""
    f = ctx.faults
    return FaultSettings(error_rate=f.error_rate, latency_ms=f.latency_ms, down=f.down)


@router.put("/faults", response_model=FaultSettings)
async def set_faults(body: FaultSettings, ctx: ContextDep) -> FaultSettings:
    """Set the faults (all three at once)."""
    ctx.faults = Faults(error_rate=body.error_rate, latency_ms=body.latency_ms, down=body.down)
    return body


@router.put("/issuance", response_model=Issuance)
async def set_issuance(body: Issuance, ctx: ContextDep) -> Issuance:
    """Set the issuance delay for applications accepted or released from now on."""
    ctx.issuance_delay_seconds = body.delay_seconds
    return body


@router.get("/stats", response_model=Stats)
async def read_stats(uow: UowDep, ctx: ContextDep) -> Stats:
    """Counts of what was received: distinct applications, submissions with repeats, per receipt."""
    apps = await applications.counts(uow)
    n_violations, n_reports, per_receipt = await violations.counts(uow)
    return Stats(
        applications=apps.applications,
        submissions_received=apps.submissions_received,
        received_by_receipt=apps.received_by_receipt,
        by_status=apps.by_status,
        violations=n_violations,
        violation_reports_received=n_reports,
        violations_by_receipt=per_receipt,
        refused_by_faults=dict(ctx.refused),
    )
