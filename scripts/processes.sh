#!/usr/bin/env bash
# Waiting and stopping, shared by scripts/stack.sh and scripts/cdc.sh (sourced by both; it
# defines functions only). Messages name the script that runs, e.g. "stack: ..." or "cdc: ...".

proc_say() { echo "$(basename "${0%.sh}"): $*"; }

wait_until() { # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  proc_say "timed out after ${seconds}s waiting for $what"
  return 1
}

# A zombie counts as dead: a process started with nohup here is re-parented to PID 1, and
# where PID 1 is not a prompt reaper (a container's init) a SIGKILLed worker stays a zombie,
# which `kill -0` still reports alive, for minutes.
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }

stop_pidfile() { # pidfile, name, seconds before SIGKILL (30)
  local pid
  if ! pid_alive "$1"; then
    proc_say "no $2 started by this script is running"
    rm -f "$1"
    return 0
  fi
  pid="$(cat "$1")"
  proc_say "stopping $2 (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((${3:-30} * 5))); do alive "$pid" || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}
