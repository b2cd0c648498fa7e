"""Point-in-time recovery: ``dbops.pitr.push``, ``fetch``, ``base_backup``, ``restore``, ``status``,
``restore_point``, ``setup``, ``prune``, ``wait_for_promotion`` (the same functions as ``dbops.pitr_*``)."""

from ._dbops import (
    pitr_base_backup as base_backup,
    pitr_fetch as fetch,
    pitr_prune as prune,
    pitr_push as push,
    pitr_restore as restore,
    pitr_restore_point as restore_point,
    pitr_setup as setup,
    pitr_status as status,
    pitr_wait_for_promotion as wait_for_promotion,
)

__all__ = [
    "base_backup",
    "fetch",
    "prune",
    "push",
    "restore",
    "restore_point",
    "setup",
    "status",
    "wait_for_promotion",
]
