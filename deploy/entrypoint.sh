#!/bin/sh
# The image's entrypoint. $SERVICE is baked in at build time (--build-arg SERVICE=...).
#   serve            (default) the service's ASGI app under uvicorn on $PORT (8000)
#   migrate          apply the service's Alembic migrations to <PREFIX>DATABASE_URL, then exit
#   wait-migrations  exit 0 once the database has this image's migrations (an init container)
#   init-keys        gateway only: create a signing key in $GATEWAY_KEYS_DIR when it holds none
#   anything else    run as a command (e.g. `python`, `sh`)
set -eu
: "${SERVICE:?SERVICE is not set (build with --build-arg SERVICE=<name>)}"
here="$(dirname "$0")"  # /app/deploy in the image
mode="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$mode" in
  serve)
    # Keep-alive longer than the gateway's (and any load balancer's) idle timeout, so the client
    # side closes idle connections first; SIGTERM drains for up to 10 s.
    exec uvicorn --factory "${SERVICE}.app:create_app" \
      --host 0.0.0.0 --port "${PORT:-8000}" \
      --timeout-keep-alive 65 --timeout-graceful-shutdown 10 \
      --no-access-log "$@"
    ;;
  migrate|wait-migrations)
    exec python "$here/service_ops.py" "$mode" "$SERVICE" "$@"
    ;;
  init-keys)
    exec python "$here/service_ops.py" init-keys "$SERVICE" "$@"
    ;;
  *)
    exec "$mode" "$@"
    ;;
esac
