"""The no-op RQ job: the baseline of the sync-throughput benchmark (importable by portal workers)."""


def noop_job() -> None:
    return None
