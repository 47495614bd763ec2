#!/usr/bin/env bash
# A RabbitMQ broker for tests and local runs, on loopback only, with its own state directory.
#
#   deploy/local/rabbitmq.sh [start]   install if missing, start if not running, wait until it
#                                      answers, print `export WAYMARK_AMQP_URL=...`
#   deploy/local/rabbitmq.sh fresh     as start, then wipe every queue, exchange and message
#                                      (a test run starts clean; never on a broker in use)
#   deploy/local/rabbitmq.sh env       print the export line only (no start)
#   deploy/local/rabbitmq.sh stop      stop the broker cleanly
#   deploy/local/rabbitmq.sh kill      kill -9 the broker's Erlang VM (a real crash)
#   deploy/local/rabbitmq.sh restart   kill -9, then start again (used by the kill-the-broker test)
#   deploy/local/rabbitmq.sh alarm on|off   raise / clear a memory alarm (the broker blocks
#                                      publishers; for the alarm test)
#   deploy/local/rabbitmq.sh status    exit 0 when the broker answers
#   deploy/local/rabbitmq.sh queues    list the broker's queues: name, type, state, messages,
#                                      consumers (for a test's diagnosis)
#
# Settings (environment):
#   WAYMARK_SERVICES_DIR   state root (default /tmp/waymark-services); the broker's files go in
#                          $WAYMARK_SERVICES_DIR/rabbitmq-<port> (mnesia, logs, pid file, config,
#                          cookie), so brokers on different ports never share anything
#   WAYMARK_AMQP_PORT      AMQP port on 127.0.0.1 (default 5673, clear of a system broker's 5672)
#   WAYMARK_RABBITMQ_START_TIMEOUT   seconds to wait for the broker to answer (default 90)
#
# The broker listens on 127.0.0.1 only (AMQP and Erlang distribution; epmd on loopback too),
# enables no plugin, and keeps the Debian defaults otherwise (guest/guest, loopback users only,
# disk and memory alarms that block publishers). It runs as the calling user with HOME set to
# its state directory, so its Erlang cookie never touches the caller's home.
# Idempotent: `start` on a running broker only prints the export line.
set -euo pipefail

STATE_ROOT="${WAYMARK_SERVICES_DIR:-/tmp/waymark-services}"
PORT="${WAYMARK_AMQP_PORT:-5673}"
DIR="$STATE_ROOT/rabbitmq-$PORT"
TIMEOUT="${WAYMARK_RABBITMQ_START_TIMEOUT:-90}"
NODE="waymark-$PORT@localhost"
BIN=/usr/lib/rabbitmq/bin
URL="amqp://guest:guest@127.0.0.1:$PORT/%2f"

die() {
  echo "rabbitmq.sh: $*" >&2
  exit 1
}

# The environment every rabbitmq command of this broker runs with.
broker_env() {
  mkdir -p "$DIR"
  export HOME="$DIR"
  export ERL_CRASH_DUMP="$DIR/erl_crash.dump"
  export RABBITMQ_NODENAME="$NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$PORT"
  export RABBITMQ_DIST_PORT=$((PORT + 20000))
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
  export RABBITMQ_LOG_BASE="$DIR/log"
  export RABBITMQ_PID_FILE="$DIR/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
  # Erlang distribution (the CLI tools talk to the node through it) on loopback only as well.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

install_if_missing() {
  [ -x "$BIN/rabbitmq-server" ] && return 0
  echo "rabbitmq.sh: installing rabbitmq-server (Debian package)" >&2
  command -v apt-get >/dev/null || die "rabbitmq-server is not installed and apt-get is missing"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    rabbitmq-server >/dev/null || die "apt-get install rabbitmq-server failed"
  # The package starts a system broker where it can (not in a container); it does not matter:
  # ours has its own node name, port and state.
  [ -x "$BIN/rabbitmq-server" ] || die "rabbitmq-server installed but $BIN/rabbitmq-server is missing"
}

write_config() {
  mkdir -p "$DIR/mnesia" "$DIR/log"
  cat >"$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
loopback_users.guest = true
log.file.level = warning
log.console = false
EOF
  echo '[].' >"$DIR/enabled_plugins"
  echo '[].' >"$DIR/advanced.config"
  : >"$DIR/rabbitmq-env.conf"
}

answers() {
  "$BIN/rabbitmqctl" -q -n "$NODE" ping >/dev/null 2>&1
}

pid() {
  [ -s "$DIR/rabbitmq.pid" ] && cat "$DIR/rabbitmq.pid"
}

start() {
  install_if_missing
  broker_env
  if answers; then
    echo "export WAYMARK_AMQP_URL=$URL"
    return 0
  fi
  write_config
  rm -f "$DIR/rabbitmq.pid"
  (cd "$DIR" && exec setsid nohup "$BIN/rabbitmq-server" >"$DIR/log/console.log" 2>&1 </dev/null) &
  local launcher=$! waited=0
  until answers; do
    if ! kill -0 "$launcher" 2>/dev/null || [ "$waited" -ge "$TIMEOUT" ]; then
      echo "rabbitmq.sh: the broker did not start (waited ${waited}s); last lines of its log:" >&2
      tail -n 40 "$DIR/log/console.log" >&2 2>/dev/null || true
      die "cannot start RabbitMQ on 127.0.0.1:$PORT (state in $DIR)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  # `ping` answers as soon as the VM is up; wait for the broker application itself.
  "$BIN/rabbitmqctl" -q -n "$NODE" await_startup --timeout "$TIMEOUT" >/dev/null 2>&1 \
    || die "the broker's VM is up but RabbitMQ did not finish starting (state in $DIR)"
  echo "export WAYMARK_AMQP_URL=$URL"
}

reset() {
  broker_env
  "$BIN/rabbitmqctl" -q -n "$NODE" stop_app >/dev/null &&
    "$BIN/rabbitmqctl" -q -n "$NODE" reset >/dev/null &&
    "$BIN/rabbitmqctl" -q -n "$NODE" start_app >/dev/null ||
    die "could not reset the broker on $NODE (state in $DIR)"
}

stop() {
  broker_env
  answers && "$BIN/rabbitmqctl" -q -n "$NODE" stop "$DIR/rabbitmq.pid" >/dev/null 2>&1 || true
}

crash() {
  broker_env
  local p
  p="$(pid || true)"
  [ -n "$p" ] || die "no pid file in $DIR: is the broker running?"
  kill -9 "$p" 2>/dev/null || true
  # Wait for the VM to be gone so the restart does not race the dying one for the port.
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$DIR/rabbitmq.pid"
}

case "${1:-start}" in
  start) start ;;
  fresh) start >/dev/null; reset; start ;;
  env) echo "export WAYMARK_AMQP_URL=$URL" ;;
  stop) stop ;;
  kill) crash ;;
  restart) if [ -s "$DIR/rabbitmq.pid" ]; then crash; fi; start ;;
  alarm)
    broker_env
    case "${2:-}" in
      on) "$BIN/rabbitmqctl" -q -n "$NODE" set_vm_memory_high_watermark absolute 1 >/dev/null ;;
      off) "$BIN/rabbitmqctl" -q -n "$NODE" set_vm_memory_high_watermark 0.4 >/dev/null ;;
      *) die "alarm on|off" ;;
    esac ;;
  status) broker_env; answers || die "no broker answers on $NODE (127.0.0.1:$PORT)" ;;
  queues)
    broker_env
    "$BIN/rabbitmqctl" -q -n "$NODE" list_queues name type state messages consumers \
      || die "cannot list the queues of $NODE" ;;
  *) die "unknown command \`$1\` (start | fresh | env | stop | kill | restart | alarm on|off | status | queues)" ;;
esac
