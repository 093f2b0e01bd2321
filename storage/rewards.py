"""Whistleblower rewards: proposed at closing, decided by a supervisor, claimed with a code."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.vocabulary.lifecycle import Level
from storage._sql import Runner, to_db


class RewardStatus(StrEnum):
    PROPOSED = "proposed"  # the officer's outcome gave an amount; a supervisor decides
    APPROVED = "approved"  # the reporter was told; claimable with the code until expires_at
    PAID = "paid"
    EXPIRED = "expired"  # approved, not claimed in time
    NONE = "none"  # no reward: the policy gave none, or a supervisor refused


# Rewards that count against a reporter's monthly cap: promised or paid, not refused or lapsed.
COMMITTED = (RewardStatus.PROPOSED, RewardStatus.APPROVED, RewardStatus.PAID)


class Reward(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    case_id: int
    reporter_id: int
    level: Level | None
    genuine: bool
    fine: int | None
    amount_proposed: int | None
    amount_approved: int | None
    status: RewardStatus
    basis: str
    decision_note: str | None
    proposed_by: int | None
    proposed_at: dt.datetime
    approved_by: int | None
    approved_at: dt.datetime | None
    refused_by: int | None
    refused_at: dt.datetime | None
    claim_code_hash: str | None
    code_issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    reminded_at: dt.datetime | None
    paid_by: int | None
    paid_at: dt.datetime | None
    expired_at: dt.datetime | None
    updated_at: dt.datetime

    @property
    def amount(self) -> int | None:
        """What the reporter gets: the approved amount once there is one, else the proposal."""
        return self.amount_approved if self.amount_approved is not None else self.amount_proposed


class LedgerLine(BaseModel):
    """A reward with what the ledger shows of its case (whether its reporter chose real name;
    who it is, bot/identity.py gives the payout)."""

    model_config = ConfigDict(frozen=True)

    reward: Reward
    number: str
    department: str
    category: str
    anonymous: bool


_LEDGER = (
    "SELECT r.*, c.number AS c_number, c.department AS c_department, c.category AS c_category,"
    " c.anonymous AS c_anonymous"
    " FROM rewards r JOIN cases c ON c.id = r.case_id"
)


class RewardRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(
        self,
        *,
        case_id: int,
        reporter_id: int,
        level: Level | None,
        genuine: bool,
        fine: int | None,
        amount: int | None,
        status: RewardStatus,
        basis: str,
        proposed_by: int | None,
        now: dt.datetime,
    ) -> int:
        """Record a closing's outcome; 0 when the case has one already (it keeps the first)."""
        changed = await self.sql.execute(
            "INSERT OR IGNORE INTO rewards (case_id, reporter_id, level, genuine, fine,"
            " amount_proposed, status, basis, proposed_by, proposed_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                reporter_id,
                level.value if level else None,
                int(genuine),
                fine,
                amount,
                status.value,
                basis,
                proposed_by,
                to_db(now),
                to_db(now),
            ),
        )
        return changed

    async def get(self, reward_id: int) -> Reward | None:
        row = await self.sql.fetch_one("SELECT * FROM rewards WHERE id = ?", (reward_id,))
        return None if row is None else Reward.model_validate(dict(row))

    async def for_case(self, case_id: int) -> Reward | None:
        row = await self.sql.fetch_one("SELECT * FROM rewards WHERE case_id = ?", (case_id,))
        return None if row is None else Reward.model_validate(dict(row))

    async def withdraw_not_genuine(self, case_id: int) -> bool:
        """Forget that the case's report was found not genuine (reopened on review): its next
        closing records the outcome anew."""
        changed = await self.sql.execute(
            "DELETE FROM rewards WHERE case_id = ? AND genuine = 0 AND status = 'none'",
            (case_id,),
        )
        return changed > 0

    async def by_code_hash(self, code_hash: str) -> Reward | None:
        row = await self.sql.fetch_one(
            "SELECT * FROM rewards WHERE claim_code_hash = ?", (code_hash,)
        )
        return None if row is None else Reward.model_validate(dict(row))

    async def committed_ordinary(
        self, reporter_id: int, since: dt.datetime, until: dt.datetime
    ) -> int:
        """Yuan promised or paid to a reporter for ordinary hazards proposed in [since, until)."""
        marks = ", ".join("?" * len(COMMITTED))
        value = await self.sql.fetch_value(
            "SELECT SUM(COALESCE(amount_approved, amount_proposed)) FROM rewards"
            " WHERE reporter_id = ? AND COALESCE(level, '') != ? AND proposed_at >= ?"
            f" AND proposed_at < ? AND status IN ({marks})",
            (reporter_id, Level.MAJOR.value, to_db(since), to_db(until), *COMMITTED),
        )
        return int(value or 0)

    # A supervisor's decision, then the claim ---------------------------------------------------

    async def approve(
        self,
        reward_id: int,
        amount: int,
        note: str | None,
        by: int,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> bool:
        """Approve a proposal; False when it was decided first by someone else."""
        changed = await self.sql.execute(
            "UPDATE rewards SET status = 'approved', amount_approved = ?, decision_note = ?,"
            " approved_by = ?, approved_at = ?, expires_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'proposed'",
            (amount, note, by, to_db(now), to_db(expires_at), to_db(now), reward_id),
        )
        return changed == 1

    async def refuse(self, reward_id: int, note: str, by: int, now: dt.datetime) -> bool:
        changed = await self.sql.execute(
            "UPDATE rewards SET status = 'none', decision_note = ?, refused_by = ?,"
            " refused_at = ?, updated_at = ? WHERE id = ? AND status = 'proposed'",
            (note, by, to_db(now), to_db(now), reward_id),
        )
        return changed == 1

    async def set_code(self, reward_id: int, code_hash: str, now: dt.datetime) -> bool:
        """Replace the claim code of an approved reward (a new code voids the old one)."""
        changed = await self.sql.execute(
            "UPDATE rewards SET claim_code_hash = ?, code_issued_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'approved'",
            (code_hash, to_db(now), to_db(now), reward_id),
        )
        return changed == 1

    async def mark_paid(self, reward_id: int, by: int, now: dt.datetime) -> bool:
        """Pay an approved, unexpired reward; False when it is paid, lapsed or not approved."""
        changed = await self.sql.execute(
            "UPDATE rewards SET status = 'paid', paid_by = ?, paid_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'approved' AND expires_at > ?",
            (by, to_db(now), to_db(now), reward_id, to_db(now)),
        )
        return changed == 1

    # The sweep -----------------------------------------------------------------------------

    async def approved(self) -> list[Reward]:
        """Approved rewards waiting to be claimed, soonest to lapse first."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM rewards WHERE status = 'approved' ORDER BY expires_at, id"
        )
        return [Reward.model_validate(dict(r)) for r in rows]

    async def mark_reminded(self, reward_id: int, now: dt.datetime) -> bool:
        changed = await self.sql.execute(
            "UPDATE rewards SET reminded_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'approved' AND reminded_at IS NULL",
            (to_db(now), to_db(now), reward_id),
        )
        return changed == 1

    async def mark_expired(self, reward_id: int, now: dt.datetime) -> bool:
        changed = await self.sql.execute(
            "UPDATE rewards SET status = 'expired', expired_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'approved' AND expires_at <= ?",
            (to_db(now), to_db(now), reward_id, to_db(now)),
        )
        return changed == 1

    # The ledger ----------------------------------------------------------------------------

    async def ledger(
        self, departments: set[str] | None, limit: int | None = None
    ) -> list[LedgerLine]:
        """Rewards of cases in these departments (None: the whole city), newest first."""
        sql, params = _LEDGER, list[object]()
        if departments is not None:
            if not departments:
                return []
            sql += f" WHERE c.department IN ({', '.join('?' * len(departments))})"
            params.extend(sorted(departments))
        sql += " ORDER BY r.proposed_at DESC, r.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = await self.sql.fetch_all(sql, params)
        lines = []
        for row in rows:
            values = dict(row)
            case = {k: values.pop(k) for k in list(values) if k.startswith("c_")}
            lines.append(
                LedgerLine(
                    reward=Reward.model_validate(values),
                    number=case["c_number"],
                    department=case["c_department"],
                    category=case["c_category"],
                    anonymous=bool(case["c_anonymous"]),
                )
            )
        return lines
