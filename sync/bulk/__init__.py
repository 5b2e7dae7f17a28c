"""Bulk runs: initial sync, order backfill, reconciliation and their dry runs, on a whole channel at once.

A room of its own (design §3): the model (``models``), one class per kind (``kinds``), the services that
start, step, pause, resume and cancel a run (``services``), and the job (``jobs``). A run feeds the same
services the events do (``sync.outbound``, ``sync.inbound``), in its own lane of the remotes' budgets.
"""
