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

if [ -n "${SAMBANG_TEST_AMQP_URL:-}" ] || amqp_up; then
  :
elif command -v rabbitmq-server >/dev/null 2>&1; then
  echo "starting RabbitMQ ..."
  # A node whose application was stopped (rabbitmqctl stop_app) only needs start_app.
  # Every test run and service process holds connections: a node left at the usual soft limit of
  # 1024 open files ran out under the parallel suites ("out of file descriptors"), so take the hard one.
  rabbitmqctl start_app >/dev/null 2>&1 || (ulimit -n "$(ulimit -Hn)" 2>/dev/null; rabbitmq-server -detached) || true
  for _ in $(seq 1 90); do amqp_up && break; sleep 1; done
  rabbitmqctl await_startup >/dev/null 2>&1 || true
  amqp_up || { echo "RabbitMQ did not come up" >&2; exit 1; }
else
  echo "RabbitMQ is not running and rabbitmq-server is not installed" >&2
fi
