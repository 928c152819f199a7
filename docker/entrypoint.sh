#!/bin/sh
# Entrypoint of the Trợ lý TTHC image (POSIX sh).
#
#   serve (default)  set up, then the web server on $TTHC_HOST:$TTHC_PORT (0.0.0.0:8000)
#   worker           set up, then `tthc worker` (reply jobs; needs PostgreSQL)
#   setup            set up and exit (compose runs this once before the replicas start)
#   anything else    run as given: `tthc kb stats`, `tthc index build`, `sh`, ...
#
# Set-up is idempotent and cheap once done, so every replica may run it:
#   1. migrate the database to the newest schema;
#   2. import the bundled public data only into an EMPTY knowledge base (a re-import at
#      every start would overwrite what staff have edited since); TTHC_IMPORT_BUNDLED=0
#      skips it for a deployment with its own data;
#   3. build the search index only when there is none (minutes on the full data, once;
#      later builds are run by staff after publishing and picked up without restart).
# TTHC_SETUP=0 skips all three (e.g. replicas when a one-shot `setup` did them).
set -eu

log() {
    printf 'tthc-entrypoint: %s\n' "$*" >&2
}

setup() {
    log "database: migrating to the newest schema"
    tthc kb init
    if [ "${TTHC_IMPORT_BUNDLED:-1}" != "0" ]; then
        log "knowledge base: importing the bundled public data if it is empty"
        tthc kb import --bundled --if-empty
    fi
    if tthc index info >/dev/null 2>&1; then
        log "search index: present"
    else
        log "search index: none yet, building it"
        tthc index build
    fi
}

# The healthcheck reads which role this container plays (web or worker).
remember_role() {
    printf '%s\n' "$1" >"${TTHC_ROLE_FILE:-/tmp/tthc-role}"
}

if [ "$#" -eq 0 ]; then
    set -- serve
fi

case "$1" in
    serve)
        shift
        remember_role serve
        if [ "${TTHC_SETUP:-1}" != "0" ]; then
            setup
        fi
        log "serving on ${TTHC_HOST:-0.0.0.0}:${TTHC_PORT:-8000}"
        exec tthc serve --host "${TTHC_HOST:-0.0.0.0}" --port "${TTHC_PORT:-8000}" "$@"
        ;;
    worker)
        shift
        remember_role worker
        if [ "${TTHC_SETUP:-1}" != "0" ]; then
            setup
        fi
        log "starting a worker"
        exec tthc worker "$@"
        ;;
    setup)
        setup
        log "set-up done"
        ;;
    *)
        exec "$@"
        ;;
esac
