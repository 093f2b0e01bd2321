"""The words users see for statuses, levels and history events (translated where shown)."""

from __future__ import annotations

from bot.i18n import N_
from bot.vocabulary.lifecycle import Action, Level, Status

LEVEL_LABELS: dict[Level, str] = {
    Level.GENERAL: N_("general hazard"),
    Level.MAJOR: N_("major hazard"),
}

# The terms users see (DESIGN.md): 已提交 / 已受理 / 不予受理 / 整改中 / 待复核 / 已销号 / 已合并.
STATUS_LABELS: dict[Status, str] = {
    Status.SUBMITTED: N_("submitted"),
    Status.ACCEPTED: N_("accepted"),
    Status.REJECTED: N_("not accepted"),
    Status.ASSIGNED: N_("being rectified"),
    Status.FIX_SUBMITTED: N_("fix awaiting review"),
    Status.CLOSED: N_("closed"),
    Status.MERGED: N_("merged"),
}

EVENT_LABELS: dict[str, str] = {
    "submit": N_("Reported"),
    "follow": N_("Another person reported the same hazard"),
    Action.ACCEPT: N_("Accepted by the department"),
    Action.REJECT: N_("Not accepted"),
    Action.TRANSFER: N_("Passed to another department"),
    Action.MERGE: N_("Merged into another case"),
    Action.ASSIGN: N_("Rectification ordered"),
    Action.HANDLE: N_("The department handles it itself"),
    Action.ACKNOWLEDGE: N_("Self-report acknowledged"),
    Action.SUBMIT_FIX: N_("Fix submitted for review"),
    Action.CLOSE: N_("Fix verified, case closed"),
    Action.RETURN: N_("Fix not accepted, returned"),
    Action.REQUEST_EXTENSION: N_("Extension requested"),
    Action.GRANT_EXTENSION: N_("Extension granted"),
    Action.REFUSE_EXTENSION: N_("Extension refused"),
    Action.REOPEN: N_("Reporter says it is not fixed"),
    Action.REQUEST_REVIEW: N_("The reporter asked for a review (复核)"),
    Action.UPHOLD: N_("Reviewed (复核): the decision stands"),
    Action.REOPEN_ON_REVIEW: N_("Reviewed (复核): reopened, back with the department"),
    Action.REASSIGN: N_("Rectification ordered to another enterprise"),
    Action.CHANGE_DEADLINE: N_("Deadline changed"),
    Action.CHANGE_CATEGORY: N_("Category changed"),
    "escalate": N_("Put under supervision (挂牌督办)"),
    "question": N_("The department asked the reporter a question"),
    "plan": N_("Rectification plan (治理方案) sent"),
    "measures": N_("Interim control measures (临时管控措施) sent"),
    "answer": N_("The reporter answered"),
}
