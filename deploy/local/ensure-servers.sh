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
  # (sockets and queue files) from the soft open-files limit it starts with: a node at the usual 1024
  # stopped accepting connections under a full test run, so start it with a high one.
  (ulimit -Hn 65536 2>/dev/null || true; ulimit -n "$(ulimit -Hn)" 2>/dev/null; rabbitmq-server -detached) || true
}

# A node started elsewhere keeps its limit. Erlang hands its children (and so RabbitMQ's file handle
# budget, read through `ulimit -n`) the soft limit the node was started with: report a low one.
if [ -z "${SAMBANG_TEST_AMQP_URL:-}" ] && amqp_up && command -v rabbitmqctl >/dev/null 2>&1; then
  budget="$(timeout 20 rabbitmqctl eval 'file_handle_cache:ulimit().' 2>/dev/null | tr -dc '0-9' || true)"
  if [ -n "$budget" ] && [ "$budget" -lt 4096 ]; then
    echo "note: RabbitMQ's file-handle budget comes from an open-files limit of $budget; the tests delete" \
      "what they declare and stay well inside it, but a node started with 'ulimit -n 65536' has room to spare" >&2
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
