#!/usr/bin/env bash
# Start PostgreSQL and RabbitMQ on this machine when they are not answering (CI and fresh
# machines of the python-svc kind have both installed). Nothing happens when both are up.
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if [ -n "${SAMBANG_TEST_DATABASE_URL:-}" ] || pg_up; then
  :
elif command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "starting PostgreSQL ..."
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not come up" >&2; exit 1; }
else
  echo "PostgreSQL is not running and pg_ctlcluster is not installed" >&2
fi

start_rabbitmq() {
  # Every test run and service process holds connections, and RabbitMQ 3.10 budgets its file handles
  # (sockets and queue files) from the open-files limit: a node at the usual soft limit of 1024
  # stopped accepting connections under a full test run, so start it with the hard limit.
  (ulimit -Hn 65536 2>/dev/null || true; ulimit -n "$(ulimit -Hn)" 2>/dev/null; rabbitmq-server -detached) || true
}

# On CI (as root) a node that was started elsewhere with a low open-files limit is restarted with a
# higher one; a developer's node is only reported.
rabbit_nofile() {
  local pid
  pid="$(pgrep -f 'beam.smp.*-s rabbit boot' | head -n1 || true)"
  [ -n "$pid" ] && awk '/^Max open files/ {print $4}' "/proc/$pid/limits" 2>/dev/null || true
}
if [ -z "${SAMBANG_TEST_AMQP_URL:-}" ] && amqp_up; then
  soft="$(rabbit_nofile)"
  if [ -n "$soft" ] && [ "$soft" != unlimited ] && [ "$soft" -lt 65536 ]; then
    if [ "${CI:-}" = "true" ] && [ "$(id -u)" = 0 ] && command -v rabbitmq-server >/dev/null 2>&1; then
      echo "restarting RabbitMQ with a higher open-files limit (it runs with $soft) ..."
      rabbitmqctl stop >/dev/null 2>&1 || true
      for _ in $(seq 1 60); do amqp_up || break; sleep 1; done  # started again just below
    else
      echo "note: RabbitMQ runs with an open-files limit of $soft; a full test run wants 65536 (restart it with a higher ulimit -n)" >&2
    fi
  fi
fi

if [ -n "${SAMBANG_TEST_AMQP_URL:-}" ] || amqp_up; then
  :
elif command -v rabbitmq-server >/dev/null 2>&1; then
  echo "starting RabbitMQ ..."
  # A node whose application was stopped (rabbitmqctl stop_app) only needs start_app.
  rabbitmqctl start_app >/dev/null 2>&1 || start_rabbitmq
  for _ in $(seq 1 90); do amqp_up && break; sleep 1; done
  rabbitmqctl await_startup >/dev/null 2>&1 || true
  amqp_up || { echo "RabbitMQ did not come up" >&2; exit 1; }
else
  echo "RabbitMQ is not running and rabbitmq-server is not installed" >&2
fi
