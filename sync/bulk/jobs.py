"""RQ jobs of bulk runs: ids in, one service call each (enqueued by dotted path from ``sync.queue``)."""

from __future__ import annotations

from sync.bulk.services import bulk_reconciliations_schedule, bulk_run_step, bulk_runs_sweep


def bulk_run_step_job(run_id: int) -> None:
    bulk_run_step(run_id=run_id)


def bulk_runs_sweep_job() -> None:
    bulk_runs_sweep()


def bulk_reconciliations_schedule_job() -> None:
    bulk_reconciliations_schedule()
