#!/usr/bin/env bash
# `make run` (Procfile.dev): run a command, and run it again whenever it ends, as systemd's Restart=always
# does in production (deploy/systemd). honcho stops every process once one of them ends; an RQ worker
# ends when Redis goes away in the middle of a job, and the demo would end with it.
# SIGTERM/SIGINT (honcho signals the whole process group) stop the loop; the command gets the same
# signal from honcho and finishes as it would alone (RQ: the job under way first).
set -u
delay="${RESPAWN_DELAY_SECONDS:-2}"
stopping=0
trap 'stopping=1' TERM INT
while :; do
  "$@" &
  child=$!
  # A trapped signal interrupts `wait`: wait again until the command has really ended.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done
  wait "$child"
  status=$?
  [ "$stopping" = 1 ] && exit "$status"
  echo "respawn: '$*' ended with status $status; starting it again in ${delay}s" >&2
  sleep "$delay" &
  wait $! 2>/dev/null
  [ "$stopping" = 1 ] && exit 0
done
