#!/usr/bin/env bash
# TLS in front of the hub, on loopback: nginx terminates TLS and proxies to the hub's plain HTTP
# API (which only ever listens on loopback). Two ports:
#   - the TLS port (default 8443): server authentication only, for people's browsers and apps
#     that carry a bearer token;
#   - the mutual-TLS port (default 8444): the client must present a certificate issued by the
#     client CA (system clients: adapters, receiving systems pulling summaries). nginx verifies
#     it and passes it to the hub URL-encoded (PEM) in `X-Client-Cert`, with `X-Client-Verify:
#     SUCCESS`. On the TLS port both headers are always cleared, so a caller cannot forge them.
#
#   deploy/local/tls.sh [start]       make the certificates if missing, write the config, start
#                                     nginx (reload it when already running)
#   deploy/local/tls.sh certs         make the certificates only (a throwaway CA, a server
#                                     certificate for 127.0.0.1/localhost, one client certificate)
#   deploy/local/tls.sh client NAME   issue another client certificate, NAME.pem / NAME.key;
#                                     prints its SHA-256 fingerprint and RFC 8705 thumbprint
#   deploy/local/tls.sh stop          stop nginx (graceful: in-flight requests finish)
#   deploy/local/tls.sh status        exit 0 when nginx runs
#
# Environment:
#   WAYMARK_SERVICES_DIR   state root (default /tmp/waymark-services)
#   WAYMARK_NGINX_DIR      this proxy's folder (default $WAYMARK_SERVICES_DIR/nginx): nginx.conf,
#                          certs/, logs, pid file
#   WAYMARK_TLS_UPSTREAM   the hub's API, host:port (default 127.0.0.1:8080, `waymark demo`'s)
#   WAYMARK_TLS_PORT       TLS port on 127.0.0.1 (default 8443)
#   WAYMARK_MTLS_PORT      mutual-TLS port on 127.0.0.1 (default 8444)
#
# The certificates are for tests and local runs only: a real deployment uses the organisation's
# own CA (or a public one for the TLS port) and keeps the keys out of /tmp. Installs nginx from
# the Debian package when missing (root). Exit status is non-zero, with the reason, on failure.
set -euo pipefail

SERVICES="${WAYMARK_SERVICES_DIR:-/tmp/waymark-services}"
STATE="${WAYMARK_NGINX_DIR:-$SERVICES/nginx}"
CERTS="$STATE/certs"
UPSTREAM="${WAYMARK_TLS_UPSTREAM:-127.0.0.1:8080}"
TLS_PORT="${WAYMARK_TLS_PORT:-8443}"
MTLS_PORT="${WAYMARK_MTLS_PORT:-8444}"
CONF="$STATE/nginx.conf"
PID="$STATE/nginx.pid"
DAYS=30

die() {
  echo "tls.sh: $*" >&2
  exit 1
}

nginx_bin() {
  local bin
  bin="$(command -v nginx || true)"
  [ -n "$bin" ] || [ ! -x /usr/sbin/nginx ] || bin=/usr/sbin/nginx
  if [ -z "$bin" ]; then
    [ "$(id -u)" = 0 ] || die "nginx is not installed and installing needs root (apt-get install nginx)"
    echo "tls.sh: installing nginx (Debian package)" >&2
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null ||
      die "apt-get install nginx failed"
    bin=/usr/sbin/nginx
  fi
  [ -x "$bin" ] || die "no nginx binary"
  echo "$bin"
}

# One key (EC P-256, PKCS#8) and a certificate signed by the CA, with the extensions given.
issue() {
  local name="$1" subject="$2" ext="$3"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CERTS/$name.key" 2>/dev/null
  chmod 600 "$CERTS/$name.key"
  openssl req -new -key "$CERTS/$name.key" -subj "$subject" -out "$CERTS/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$CERTS/$name.ext"
  openssl x509 -req -in "$CERTS/$name.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
    -CAcreateserial -days "$DAYS" -sha256 -extfile "$CERTS/$name.ext" -out "$CERTS/$name.pem" \
    2>/dev/null || die "signing $name failed"
  rm -f "$CERTS/$name.csr" "$CERTS/$name.ext"
}

issue_client() {
  issue "$1" "/O=Waymark test/CN=$1" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
}

make_certs() {
  command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
  mkdir -p "$CERTS"
  chmod 700 "$CERTS"
  [ -s "$CERTS/client.pem" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$DAYS" -sha256 \
    -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" -subj "/O=Waymark test/CN=Waymark throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "making the CA failed"
  chmod 600 "$CERTS/ca.key"
  issue server "/O=Waymark test/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
  issue_client client
  echo "tls.sh: certificates in $CERTS (ca.pem, server.pem, client.pem; keys beside them)" >&2
}

# What the hub's auth config and a certificate-bound token name a client certificate by.
print_ids() {
  local der
  der="$(openssl x509 -in "$CERTS/$1.pem" -outform DER | base64 -w0)"
  echo "fingerprint_sha256=$(echo "$der" | base64 -d | openssl dgst -sha256 -r | cut -d' ' -f1)"
  echo "x5t#S256=$(echo "$der" | base64 -d | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')"
}

write_config() {
  mkdir -p "$STATE/tmp"
  # Workers (an unprivileged user when started as root) reach the temporary folders through it.
  chmod 755 "$STATE"
  local user_line=""
  [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
  cat >"$STATE/proxy.conf" <<'EOF'
proxy_pass http://waymark_hub;
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto https;
proxy_read_timeout 120s;
client_max_body_size 16m;
EOF
  cat >"$CONF" <<EOF
# Written by deploy/local/tls.sh; regenerated on every start.
$user_line
worker_processes 1;
pid $PID;
error_log $STATE/error.log warn;
events { worker_connections 512; }

http {
  access_log $STATE/access.log;
  server_tokens off;
  client_body_temp_path $STATE/tmp/body;
  proxy_temp_path $STATE/tmp/proxy;
  fastcgi_temp_path $STATE/tmp/fastcgi;
  uwsgi_temp_path $STATE/tmp/uwsgi;
  scgi_temp_path $STATE/tmp/scgi;

  # TLS 1.2 and 1.3 only; the Mozilla "intermediate" cipher list for 1.2.
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
  ssl_prefer_server_ciphers off;
  ssl_session_cache shared:waymark_tls:1m;
  ssl_session_tickets off;
  ssl_certificate $CERTS/server.pem;
  ssl_certificate_key $CERTS/server.key;

  upstream waymark_hub {
    server $UPSTREAM;
    keepalive 16;
  }

  # Server authentication only: bearer tokens, never a client certificate.
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    add_header Strict-Transport-Security "max-age=31536000" always;
    location / {
      include $STATE/proxy.conf;
      proxy_set_header X-Client-Cert "";
      proxy_set_header X-Client-Verify "";
    }
  }

  # Mutual TLS: a client certificate issued by the client CA is required and verified here.
  server {
    listen 127.0.0.1:$MTLS_PORT ssl;
    ssl_client_certificate $CERTS/ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    add_header Strict-Transport-Security "max-age=31536000" always;
    location / {
      include $STATE/proxy.conf;
      proxy_set_header X-Client-Cert \$ssl_client_escaped_cert;
      proxy_set_header X-Client-Verify \$ssl_client_verify;
    }
  }
}
EOF
}

running() {
  [ -s "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null
}

cmd_start() {
  local bin
  bin="$(nginx_bin)"
  make_certs
  write_config
  "$bin" -t -q -p "$STATE" -c "$CONF" -e "$STATE/error.log" 2>"$STATE/check.log" ||
    die "nginx refuses the config: $(cat "$STATE/check.log")"
  if running; then
    "$bin" -p "$STATE" -c "$CONF" -e "$STATE/error.log" -s reload || die "reload failed"
  else
    "$bin" -p "$STATE" -c "$CONF" -e "$STATE/error.log" ||
      die "nginx did not start (see $STATE/error.log)"
  fi
  for _ in $(seq 1 50); do
    running && break
    sleep 0.1
  done
  running || die "nginx did not start (see $STATE/error.log)"
  echo "tls.sh: https://127.0.0.1:$TLS_PORT (TLS) and https://127.0.0.1:$MTLS_PORT (mutual TLS) -> http://$UPSTREAM" >&2
  echo "export WAYMARK_TLS_CA=$CERTS/ca.pem"
  echo "export WAYMARK_TLS_CLIENT_CERT=$CERTS/client.pem"
  echo "export WAYMARK_TLS_CLIENT_KEY=$CERTS/client.key"
}

cmd_stop() {
  running || return 0
  local bin pid
  bin="$(nginx_bin)"
  pid="$(cat "$PID")"
  "$bin" -p "$STATE" -c "$CONF" -e "$STATE/error.log" -s quit 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "nginx (pid $pid) did not stop"
}

case "${1:-start}" in
start) cmd_start ;;
certs) make_certs ;;
client)
  [[ "${2:-}" =~ ^[A-Za-z0-9_-]+$ ]] || die "client NAME (letters, digits, - and _)"
  make_certs
  issue_client "$2"
  echo "tls.sh: $CERTS/$2.pem, $CERTS/$2.key" >&2
  print_ids "$2"
  ;;
stop) cmd_stop ;;
status) running ;;
*) die "unknown command \`$1\` (start, certs, client NAME, stop, status)" ;;
esac
