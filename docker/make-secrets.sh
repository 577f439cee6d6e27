#!/usr/bin/env bash
# Writes docker/secrets/: random passwords, the URLs built from them, the RabbitMQ
# definitions (users with password hashes, vhosts, permissions), SFTP keys and users.
# Existing files are kept, so running it again never changes a credential in use.
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
keep() { [ -s "secrets/$1" ]; }
put() { keep "$1" || printf '%s' "$2" > "secrets/$1"; }

put hub_db_password "$(rand)"
put airflow_db_password "$(rand)"
keep .hub_mq_password || rand > secrets/.hub_mq_password
keep .airflow_mq_password || rand > secrets/.airflow_mq_password
hub_db=$(cat secrets/hub_db_password); af_db=$(cat secrets/airflow_db_password)
hub_mq=$(tr -d '\n' < secrets/.hub_mq_password); af_mq=$(tr -d '\n' < secrets/.airflow_mq_password)

put hub_db_url "postgresql+psycopg://govhub:${hub_db}@hub-db:5432/govhub"
put hub_broker_url "amqp://govhub:${hub_mq}@rabbitmq:5672/govhub"
put airflow_db_url "postgresql+psycopg2://airflow:${af_db}@airflow-db:5432/airflow"
put airflow_result_backend "db+postgresql://airflow:${af_db}@airflow-db:5432/airflow"
put airflow_broker_url "amqp://airflow:${af_mq}@rabbitmq:5672/airflow"
put airflow_fernet_key "$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
put airflow_jwt_secret "$(rand)"
put metrics_token "$(rand)"   # Prometheus's bearer token for the hub's /metrics

# RabbitMQ stores salted SHA-256 hashes (rabbit_password_hashing_sha256).
keep rabbitmq_definitions.json || HUB_MQ="$hub_mq" AF_MQ="$af_mq" python3 - > secrets/rabbitmq_definitions.json <<'PY'
import base64, hashlib, json, os
def h(pw):
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + pw.encode()).digest()).decode()
users = [("govhub", os.environ["HUB_MQ"], "govhub"), ("airflow", os.environ["AF_MQ"], "airflow")]
print(json.dumps({
    "users": [{"name": n, "password_hash": h(p), "hashing_algorithm": "rabbit_password_hashing_sha256",
               "tags": ["monitoring"] if n == "govhub" else []} for n, p, _ in users],
    "vhosts": [{"name": v} for _, _, v in users],
    "permissions": [{"user": n, "vhost": v, "configure": ".*", "write": ".*", "read": ".*"} for n, _, v in users],
}, indent=2))
PY

keep sftp_host_ed25519_key || ssh-keygen -q -t ed25519 -N '' -C govhub-sftp -f secrets/sftp_host_ed25519_key
keep sftp_client_key || ssh-keygen -q -t ed25519 -N '' -C govhub-hub -f secrets/sftp_client_key
# The hub's own account (key only); add one line per department: name:password:uid:gid:upload
keep sftp_users.conf || printf 'hub::1001:1001:upload\n' > secrets/sftp_users.conf
echo "secrets in $(pwd)/secrets (keep them out of git; back them up with the volumes)"
