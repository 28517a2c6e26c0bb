#!/usr/bin/env bash
# A Train Manager cluster on this machine, over loopback, with a PostgreSQL journal: one coordinator node and N worker
# nodes, each a real process (the same binaries a real cluster runs), for trying the cluster verbs and for debugging.
#
#   deploy/local-cluster.sh start 2       # or just: deploy/local-cluster.sh 2
#   deploy/local-cluster.sh status        # processes, then the cluster as `trainmanager status` sees it
#   deploy/local-cluster.sh restart-coordinator   # kill -9 the coordinator and start it again: runs carry on
#   deploy/local-cluster.sh stop          # workers hand their runs back and leave, the coordinator leaves, PostgreSQL stops
#
#   export TRAINMANAGER_SECRET_FILE=$PWD/.trainmanager/local-cluster/cluster.secret
#   dotnet run --project Cli -c Release -- submit examples/fashion-mnist-mlp.hocon --cluster 127.0.0.1:4053 --follow
#
# The cluster's secret is .trainmanager/local-cluster/cluster.secret (made by the first start, mode 600): every node
# gets it as TRAINMANAGER_SECRET_FILE, and so must your CLI (as above, or --secret-file). The throwaway PostgreSQL
# gets a random password (.trainmanager/local-cluster/pg-password, mode 600), which reaches the coordinator in its
# environment, never on a command line.
#
# start is idempotent: what already runs is left alone, what does not is started. Everything lives in
# .trainmanager/local-cluster/ (published binaries, logs, pid files, the database files); runs go to runs/ as with
# `trainmanager train`, a directory every node here shares (as a shared filesystem would on several machines).
#
# Environment (all optional):
#   PORT=4053         the coordinator's port; the workers get the next ones. Without it, the first free run from 4053.
#   DEVICES=cpu       each worker's slots (--devices), e.g. cpu,cpu for two slots per worker or cuda:0.
#   CONFIG=FILE       a copy of cluster.hocon, passed with --config to every node and to the CLI here (e.g. TLS).
#   TRAINMANAGER_JOURNAL_CONNECTION   use this PostgreSQL database instead of starting a throwaway server.
#   PG_PORT=54320     where the throwaway PostgreSQL listens (127.0.0.1 only); the first free port from there.
#   JOIN_TIMEOUT=120  seconds to wait for each node to join.   STOP_TIMEOUT=210  seconds a node gets to stop.
#   NO_BUILD=1        run the binaries published by an earlier start without publishing again.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
home=$repo/.trainmanager/local-cluster
saved=$home/cluster.env   # the ports chosen by the first start; later commands use the same ones
# Published here rather than run from Trainer.Node/bin: a `dotnet build` of the repository (yours, or a test run) while
# the cluster runs would overwrite the assemblies under the running nodes. Only this script writes these folders, and
# never while a node runs.
node_dll=$home/bin/node/trainmanager-node.dll
cli_dll=$home/bin/cli/trainmanager.dll
runs=$repo/runs
secret_file=$home/cluster.secret
pg_password_file=$home/pg-password
join_timeout=${JOIN_TIMEOUT:-120}
# A worker's shutdown waits up to trainmanager.worker.hand-back-timeout (120 s) for its runs to checkpoint and hand
# back; the host allows 30 s more. Past this, the node is killed (its runs then resume from their last checkpoint).
stop_timeout=${STOP_TIMEOUT:-210}
config_args=()
if [ -n "${CONFIG:-}" ]; then
  [ -f "$CONFIG" ] || { echo "local-cluster: CONFIG=$CONFIG: no such file" >&2; exit 2; }
  config_args=(--config "$(realpath "$CONFIG")")
fi

say() { printf '%s\n' "$*"; }
die() { printf 'local-cluster: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------------------
# Processes

# A process's command line, arguments separated by spaces.
args_of() { # pid
  if [ -r "/proc/$1/cmdline" ]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -p "$1" -o args= 2>/dev/null; fi
}

# The pid in NAME.pid, if that process is still the node we started (a pid can be reused after a reboot or a crash).
node_pid() { # name
  local file=$home/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  if [ -n "$pid" ] && args_of "$pid" | grep -qF -- "--state-dir $home/$1 "; then
    echo "$pid"
  else
    rm -f "$file"
    return 1
  fi
}

running_nodes() { # the names of our nodes that run, coordinator first
  local file name
  for file in "$home"/coordinator.pid "$home"/worker-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    node_pid "$name" >/dev/null && echo "$name"
  done
  return 0
}

port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# The first port from $1 on such that $1 .. $1+$2-1 are all free.
free_ports() { # first count
  local first=$1 count=$2 port ok
  for _ in $(seq 1 200); do
    ok=1
    for port in $(seq "$first" $((first + count - 1))); do
      if port_in_use "$port"; then ok=0; break; fi
    done
    [ "$ok" = 1 ] && { echo "$first"; return 0; }
    first=$((first + 1))
  done
  die "no $count free consecutive ports on 127.0.0.1 from $1 on; set PORT"
}

save_state() {
  local tmp=$saved.tmp
  {
    echo "BASE_PORT=$base_port"
    echo "PG_PORT_USED=${pg_port:-}"
  } >"$tmp"
  mv "$tmp" "$saved"
}

load_state() {
  base_port='' pg_port=''
  if [ -f "$saved" ]; then
    base_port=$(sed -n 's/^BASE_PORT=//p' "$saved")
    pg_port=$(sed -n 's/^PG_PORT_USED=//p' "$saved")
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway server (initdb) in $home/pgdata, listening on 127.0.0.1 only, with password authentication
# (scram-sha-256): other users of this machine reach 127.0.0.1 too. The password is random, made by the first start,
# and kept in $pg_password_file (mode 600); psql and the coordinator get it through their environment.

pg_data=$home/pgdata

pg_bin() {
  local dir='' candidate
  # Debian keeps the server tools out of PATH, one folder per major version: take the newest.
  for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && dir=$candidate; done
  if [ -z "$dir" ] && command -v initdb >/dev/null; then dir=$(dirname "$(command -v initdb)"); fi
  if [ -z "$dir" ] || [ ! -x "$dir/pg_ctl" ]; then
    die "PostgreSQL is not installed (apt-get install postgresql), or set TRAINMANAGER_JOURNAL_CONNECTION to a database of yours"
  fi
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, its tools run as user postgres.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The password of the throwaway server, made once: 24 random bytes as hex (safe inside a connection string).
pg_password() {
  if [ ! -s "$pg_password_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pg_password_file.tmp")
    mv "$pg_password_file.tmp" "$pg_password_file"
  fi
  cat "$pg_password_file"
}

pg_running() { [ -f "$pg_data/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; }

start_postgres() {
  local bin
  bin=$(pg_bin)
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    rm -rf "$pg_data"
    mkdir -p "$pg_data"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$pg_data"
      runuser -u postgres -- test -w "$pg_data" ||
        die "user postgres cannot write $pg_data (is a parent folder closed to other users?). Move the repository, or set TRAINMANAGER_JOURNAL_CONNECTION"
    fi
    pg_password >/dev/null
    # As root, initdb runs as postgres and must read the password file (root still reads it for the connection string).
    [ "$(id -u)" = 0 ] && chown postgres: "$pg_password_file"
    as_pg "$bin/initdb" -D "$pg_data" -A scram-sha-256 -U postgres --pwfile="$pg_password_file" -E UTF8 --no-sync >"$home/initdb.log" 2>&1 ||
      { cat "$home/initdb.log" >&2; die "initdb failed"; }
  elif [ ! -s "$pg_password_file" ]; then
    # An earlier version of this script made the server with trust authentication and no password.
    die "$pg_data has no password ($pg_password_file is missing; it was made without one). Run 'deploy/local-cluster.sh stop', delete $pg_data (an empty journal), and start again"
  fi
  local password
  password=$(pg_password)
  if pg_running; then
    say "PostgreSQL: already running on 127.0.0.1:$pg_port"
  else
    # The port of the last start if it is still free, else the first free one.
    if [ -z "$pg_port" ] || port_in_use "$pg_port"; then pg_port=$(free_ports "${PG_PORT:-54320}" 1); fi
    # No Unix socket (unix_socket_directories=''): its path would be limited to ~100 characters, and TCP is all we use.
    as_pg "$bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 \
      -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null ||
      { tail -20 "$pg_data/server.log" >&2; die "PostgreSQL did not start; its log is $pg_data/server.log"; }
    say "PostgreSQL: started on 127.0.0.1:$pg_port (data and log in $pg_data)"
  fi
  local psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres)
  PGPASSWORD=$password "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'trainmanager'" | grep -q 1 ||
    PGPASSWORD=$password "${psql[@]}" -c "CREATE DATABASE trainmanager"
  journal="Host=127.0.0.1;Port=$pg_port;Database=trainmanager;Username=postgres;Password=$password"
}

stop_postgres() {
  if pg_running; then
    as_pg "$(pg_bin)/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
    say "PostgreSQL: stopped"
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------------------------------
# Nodes

# The coordinator and the first worker are both seeds. The first seed (the coordinator) forms the cluster; a coordinator
# that restarts while the workers run (a crash, restart-coordinator) finds the running cluster through worker-1 and
# joins it, instead of forming a second cluster of its own.
seeds() { echo "127.0.0.1:$base_port,127.0.0.1:$((base_port + 1))"; }


start_node() { # name port roles
  local name=$1 port=$2 roles=$3 log=$home/$1.log
  local -a node_args
  # Every flag here is checked by Tests/Deploy/DeployFilesTests.cs against Trainer.Node's parser (it reads node_args).
  node_args=(--host 127.0.0.1 --port "$port" --seed-nodes "$(seeds)" --roles "$roles" --runs-dir "$runs" --state-dir "$home/$name")
  node_args+=("${config_args[@]}")
  if [ "$roles" = coordinator ]; then
    # Only the coordinator keeps the journal.
    node_args+=(--store postgresql)
  else
    node_args+=(--devices "${DEVICES:-cpu}")
  fi
  # A node that just exited may hold its port for a moment; past 10 s, someone else has it.
  for _ in $(seq 1 20); do port_in_use "$port" || break; sleep 0.5; done
  port_in_use "$port" && die "$name: port $port on 127.0.0.1 is taken by another program (ss -ltnp 'sport = :$port'); stop it, or run 'stop' and start with another PORT"
  [ -f "$log" ] && mv "$log" "$log.1"
  # The secrets go by environment, never on a command line (where `ps` shows it to everyone): the cluster secret's file
  # to every node, the journal's connection string (with its password) to the coordinator only. The subshell and
  # nohup exec, so $! is the node's own pid. Its working directory is the repository, as for `dotnet run`.
  (
    export TRAINMANAGER_SECRET_FILE=$secret_file
    if [ "$roles" = coordinator ]; then export TRAINMANAGER_JOURNAL_CONNECTION=$journal; fi
    exec nohup dotnet "$node_dll" "${node_args[@]}" >"$log" 2>&1 </dev/null
  ) &
  echo $! >"$home/$name.pid"
  say "$name: starting on 127.0.0.1:$port (roles $roles), log $log"
}

wait_joined() { # name: until the node logs that it is a member (Up), or exits
  local name=$1 log=$home/$1.log deadline=$((SECONDS + join_timeout))
  while [ $SECONDS -lt $deadline ]; do
    grep -q "Joined the cluster" "$log" 2>/dev/null && { say "$name: joined"; return 0; }
    if ! node_pid "$name" >/dev/null; then
      tail -20 "$log" >&2
      die "$name exited before joining; its log is $log"
    fi
    sleep 1
  done
  tail -20 "$log" >&2
  die "$name did not join within $join_timeout s; its log is $log"
}

# Until the process is gone. Its command line empties before it has closed its sockets, so node_pid alone says "gone"
# too early for a restart on the same port.
wait_gone() { # pid
  local deadline=$((SECONDS + 30))
  while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}

# Sends SIGTERM to the nodes named, then waits for all of them: the workers hand their runs back in parallel.
stop_nodes() { # why name...
  local why=$1 name pid deadline i names=() pids=()
  shift
  for name in "$@"; do
    pid=$(node_pid "$name") || continue
    kill -TERM "$pid" 2>/dev/null || true
    names+=("$name")
    pids+=("$pid")
  done
  [ ${#names[@]} -eq 0 ] && return 0
  say "stopping ${names[*]} (SIGTERM: $why)"
  deadline=$((SECONDS + stop_timeout))
  for i in "${!names[@]}"; do
    name=${names[$i]} pid=${pids[$i]}
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name: still running after $stop_timeout s; killing it (its runs resume from their last checkpoint)" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid"
    fi
    rm -f "$home/$name.pid"
    say "$name: stopped"
  done
}

cli() { TRAINMANAGER_SECRET_FILE=$secret_file dotnet "$cli_dll" "$@"; }

# The cluster secret, made once by the CLI just published (mode 600); the nodes and the CLI calls here use it.
ensure_secret() {
  [ -f "$secret_file" ] && return 0
  dotnet "$cli_dll" secret "$secret_file" >/dev/null || die "could not make the cluster secret $secret_file"
  say "cluster secret: made $secret_file"
}

# ---------------------------------------------------------------------------------------------------------------------
# Commands

publish() {
  # Publish is a Release build plus a copy into our own folder (only changed files are copied on later starts).
  local project out
  for project in Trainer.Node Cli; do
    out=$home/bin/node
    [ "$project" = Cli ] && out=$home/bin/cli
    say "building $project (Release) into $out"
    dotnet publish "$project" -c Release -o "$out" -nologo -v quiet >"$home/build.log" 2>&1 ||
      { tail -30 "$home/build.log" >&2; die "the build failed; the whole output is in $home/build.log"; }
  done
}

cmd_start() {
  local wanted=${1:-2} running i expected slots
  if ! [[ $wanted =~ ^[1-9][0-9]*$ ]]; then die "start takes a number of workers (1 or more), e.g. start 2"; fi
  mkdir -p "$home" "$runs"
  load_state
  running=$(running_nodes)

  if [ -n "$running" ]; then
    say "already running: $(echo "$running" | tr '\n' ' ')(the binaries are not rebuilt under running nodes)"
    [ -f "$node_dll" ] || die "nodes run but $node_dll is gone; run 'stop' first"
  elif [ "${NO_BUILD:-}" = 1 ] && [ -f "$node_dll" ] && [ -f "$cli_dll" ]; then
    say "NO_BUILD=1: using the binaries in $home/bin"
  else
    publish
  fi
  ensure_secret

  # Ports: kept while any node runs (the seeds name them); chosen afresh otherwise.
  if [ -z "$running" ] || [ -z "$base_port" ]; then
    if [ -n "${PORT:-}" ]; then
      base_port=$PORT
      for i in $(seq 0 "$wanted"); do
        port_in_use $((base_port + i)) && die "port $((base_port + i)) is taken; choose another PORT (the workers use the ports after it)"
      done
    else
      base_port=$(free_ports 4053 $((wanted + 1)))
    fi
  fi

  if [ -n "${TRAINMANAGER_JOURNAL_CONNECTION:-}" ]; then
    journal=$TRAINMANAGER_JOURNAL_CONNECTION
    say "journal: the database in TRAINMANAGER_JOURNAL_CONNECTION (no PostgreSQL started here)"
  else
    start_postgres
  fi
  save_state

  if node_pid coordinator >/dev/null; then
    say "coordinator: already running on 127.0.0.1:$base_port"
  else
    start_node coordinator "$base_port" coordinator
    wait_joined coordinator
  fi
  for i in $(seq 1 "$wanted"); do
    if node_pid "worker-$i" >/dev/null; then say "worker-$i: already running on 127.0.0.1:$((base_port + i))"; continue; fi
    start_node "worker-$i" $((base_port + i)) worker
  done
  for i in $(seq 1 "$wanted"); do wait_joined "worker-$i"; done

  # Joined is not yet registered: ask the coordinator, as a user would, until it counts every worker slot.
  expected=$((wanted * $(tr ',' '\n' <<<"${DEVICES:-cpu}" | grep -c .)))
  say "waiting for the coordinator to see $expected worker slot(s)"
  local deadline=$((SECONDS + join_timeout)) out=""
  while [ $SECONDS -lt $deadline ]; do
    out=$(cli status --cluster "127.0.0.1:$base_port" "${config_args[@]}" 2>&1) || true
    slots=$(sed -n 's/.*Worker slots: [0-9]* free of \([0-9]*\)\..*/\1/p' <<<"$out" | head -1)
    [ -n "$slots" ] && [ "$slots" -ge "$expected" ] && break
    sleep 2
  done
  say "$out"
  if [ -z "$slots" ] || [ "$slots" -lt "$expected" ]; then
    die "the coordinator does not see $expected worker slots after $join_timeout s; see the logs in $home"
  fi

  local target="--cluster 127.0.0.1:$base_port${config_args[*]:+ ${config_args[*]}}"
  say ""
  say "Cluster up. Your CLI needs its secret (or --secret-file $secret_file) and $target, e.g."
  say "  export TRAINMANAGER_SECRET_FILE=$secret_file"
  say "  dotnet run --project Cli -c Release -- submit examples/fashion-mnist-mlp.hocon $target --follow"
  say "  dotnet run --project Cli -c Release -- runs $target"
  say "Logs: $home/*.log   Stop: deploy/local-cluster.sh stop"
}

cmd_stop() {
  load_state
  local workers_running
  mapfile -t workers_running < <(running_nodes | grep '^worker-' || true)
  # Workers first, while the coordinator is there to take their runs back; then the coordinator; then the journal.
  stop_nodes "their runs stop after the current batch, checkpoint, and go back to the queue" "${workers_running[@]}"
  stop_nodes "it leaves the cluster; the journal keeps every run" coordinator
  stop_postgres
  rm -f "$home"/*.pid
  say "local cluster stopped (state kept in $home; delete it for a fresh journal)"
}

cmd_status() {
  load_state
  local file name pid any=0
  for file in "$home"/coordinator.pid "$home"/worker-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    any=1
    if pid=$(node_pid "$name"); then say "$name: running (pid $pid)"; else say "$name: not running"; fi
  done
  [ $any = 1 ] || say "no nodes (start them with: deploy/local-cluster.sh start 2)"
  if [ -n "${TRAINMANAGER_JOURNAL_CONNECTION:-}" ]; then
    say "journal: TRAINMANAGER_JOURNAL_CONNECTION"
  elif [ -f "$pg_data/PG_VERSION" ]; then
    if pg_running; then say "PostgreSQL: running on 127.0.0.1:$pg_port"; else say "PostgreSQL: not running"; fi
  fi
  if node_pid coordinator >/dev/null && [ -f "$cli_dll" ]; then
    say ""
    cli status --cluster "127.0.0.1:$base_port" "${config_args[@]}" || true
    say "--cluster 127.0.0.1:$base_port${config_args[*]:+ ${config_args[*]}} --secret-file $secret_file"
  fi
}

cmd_restart_coordinator() {
  # What a crash looks like: no hand-back, no leaving. The new coordinator recovers every run from PostgreSQL.
  load_state
  local pid
  [ -n "$base_port" ] || die "no cluster was started here"
  if [ -n "${TRAINMANAGER_JOURNAL_CONNECTION:-}" ]; then journal=$TRAINMANAGER_JOURNAL_CONNECTION; else start_postgres; fi
  if pid=$(node_pid coordinator); then
    kill -KILL "$pid"
    wait_gone "$pid"
    say "coordinator: killed (pid $pid)"
  fi
  [ -f "$home/coordinator.log" ] && mv "$home/coordinator.log" "$home/coordinator.crashed.log"
  start_node coordinator "$base_port" coordinator
  wait_joined coordinator
}

case "${1:-}" in
  start) cmd_start "${2:-2}" ;;
  [0-9]*) cmd_start "$1" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart-coordinator) cmd_restart_coordinator ;;
  -h | --help | help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
  *)
    echo "usage: $0 start [N] | N | stop | status | restart-coordinator | --help" >&2
    exit 2
    ;;
esac
