# shellcheck shell=bash
# Helpers shared by scripts/run and scripts/test: installing the Debian
# packages, building, and running private PostgreSQL and Redis servers.
#
# Sourced, not executed. Every function returns non-zero on failure and says
# why on stderr, so callers running under `set -e` stop at the first problem.
# The servers started here are private to a directory (their data, sockets,
# pid files and logs all live under it); the system's own PostgreSQL cluster
# and Redis service are never touched.

# The repository root, derived from this file's location so that the scripts
# work from any working directory and any checkout path.
MANDI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export MANDI_ROOT

# Build, run and test dependencies. curl is here because mandi_wait_http and
# the operators' checks use it, and a minimal Debian image lacks it; openssl
# because the FCM tests make service account keys with it.
MANDI_PACKAGES=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev libmsgpack-dev libpq-dev libhiredis-dev
    libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libsodium-dev libssl-dev
    postgresql redis-server python3 curl openssl
    wrk valgrind clang-format
)

mandi_say() {
    printf '%s\n' "$*" >&2
}

mandi_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# True when running as root: PostgreSQL then has to run as another user.
mandi_is_root() {
    [[ ${EUID:-$(id -u)} -eq 0 ]]
}

# --- packages ---------------------------------------------------------------

# Installs whichever of MANDI_PACKAGES is missing. Nothing is asked of apt
# when everything is there, so the common case costs no network and no root.
# MANDI_SKIP_PACKAGES=1 skips the check (machines managed some other way).
mandi_ensure_packages() {
    if [[ ${MANDI_SKIP_PACKAGES:-0} == 1 ]]; then
        return 0
    fi
    local missing=() pkg status
    for pkg in "${MANDI_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        if [[ $status != installed ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    local sudo=()
    if ! mandi_is_root; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            mandi_say "missing packages: ${missing[*]}"
            mandi_say "install them as root (apt-get install ${missing[*]}) or set MANDI_SKIP_PACKAGES=1"
            return 1
        fi
    fi
    mandi_say "installing: ${missing[*]}"
    # sudo resets the environment by default, so the variable is passed on
    # the command line rather than exported.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
}

# --- build ------------------------------------------------------------------

# mandi_build BUILD_DIR [CMAKE_ARGS...]
# Configures and builds. Configuring every time costs a second and means the
# arguments given now are the ones in force, whatever an earlier run cached.
mandi_build() {
    local dir="$1"
    shift
    # Explicit returns: callers may test this function in an `if`, where
    # set -e does not apply inside it.
    cmake -S "$MANDI_ROOT" -B "$dir" "$@" || return 1
    cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" || return 1
}

# --- small utilities ---------------------------------------------------------

# mandi_url_port URL DEFAULT: the port of a URL such as
# postgresql://user@host:5433/db or tcp://127.0.0.1:5555, else DEFAULT.
mandi_url_port() {
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest##*@}"
    rest="${rest##*]}" # an IPv6 literal: keep what follows the brackets
    if [[ $rest == *:* && ${rest##*:} =~ ^[0-9]+$ ]]; then
        printf '%s\n' "${rest##*:}"
    else
        printf '%s\n' "$2"
    fi
}

# mandi_url_host URL: the host of a URL, without brackets; empty if none.
mandi_url_host() {
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest%%\?*}"
    rest="${rest##*@}"
    if [[ $rest == \[* ]]; then
        rest="${rest#[}"
        printf '%s\n' "${rest%%]*}"
    else
        printf '%s\n' "${rest%%:*}"
    fi
}

# mandi_url_user URL DEFAULT and mandi_url_path URL DEFAULT: the user name and
# the first path segment (the database name) of a URL.
mandi_url_user() {
    local rest="${1#*://}"
    rest="${rest%%/*}"
    if [[ $rest == *@* ]]; then
        rest="${rest%@*}"
        rest="${rest%%:*}"
        [[ -n $rest ]] && {
            printf '%s\n' "$rest"
            return
        }
    fi
    printf '%s\n' "$2"
}

mandi_url_path() {
    local rest="${1#*://}"
    if [[ $rest == */* ]]; then
        rest="${rest#*/}"
        rest="${rest%%\?*}"
        rest="${rest%%/*}"
        [[ -n $rest ]] && {
            printf '%s\n' "$rest"
            return
        }
    fi
    printf '%s\n' "$2"
}

# True for addresses that mean "this machine": only then do the scripts start
# a server themselves; any other host is someone else's to run.
mandi_is_local_host() {
    case "$1" in
    '' | 127.* | localhost | ::1) return 0 ;;
    *) return 1 ;;
    esac
}

# mandi_port_busy PORT: true when something listens on 127.0.0.1:PORT (or on
# all addresses). ss sees listeners that refuse connections too; the /dev/tcp
# probe is the fallback where iproute2 is absent.
mandi_port_busy() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
        return 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# mandi_free_port START: prints the first port from START upward that nothing
# listens on.
mandi_free_port() {
    local port="$1" limit=$(($1 + 200))
    while ((port < limit)); do
        if ! mandi_port_busy "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
        port=$((port + 1))
    done
    mandi_say "no free port between $1 and $limit"
    return 1
}

# mandi_proc_alive PID: true when PID is a live process. A zombie does not
# count: a process that exited stays one until its parent (init, for the
# daemons here) reaps it, and some inits take seconds to get round to that.
mandi_proc_alive() {
    local pid="$1" stat
    if ! kill -0 "$pid" 2>/dev/null; then
        # EPERM also fails kill -0: a process of another user still counts
        # as alive when /proc knows it.
        [[ -d /proc/$pid ]] || return 1
    fi
    if [[ -r /proc/$pid/stat ]]; then
        { stat="$(<"/proc/$pid/stat")"; } 2>/dev/null || return 1
        # The state follows the parenthesised program name, which may itself
        # contain spaces or parentheses: cut after the last ") ".
        stat="${stat##*) }"
        [[ ${stat:0:1} != Z ]] || return 1
    fi
    return 0
}

# mandi_pid_alive PIDFILE [NAME]: true when PIDFILE names a live process and,
# when NAME is given, that process's program is NAME. The name check keeps a
# stale pid file (after a reboot, say) from pointing at an unrelated process
# that happens to have been given the same pid.
mandi_pid_alive() {
    local pidfile="$1" name="${2:-}" pid exe
    [[ -f $pidfile ]] || return 1
    pid="$(<"$pidfile")"
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    mandi_proc_alive "$pid" || return 1
    if [[ -n $name && -r /proc/$pid/cmdline ]]; then
        exe="$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)"
        [[ ${exe##*/} == "$name"* ]] || return 1
    fi
    return 0
}

# mandi_stop_pids TIMEOUT PIDFILE...: SIGTERM to every live process of the
# pid files at once (so a group stops in one TIMEOUT, not one per process),
# then SIGKILL to whatever is still alive after TIMEOUT seconds. The pid
# files are removed.
mandi_stop_pids() {
    local timeout="$1"
    shift
    local pidfile pids=() pid alive ticks=0
    for pidfile in "$@"; do
        if mandi_pid_alive "$pidfile"; then
            pid="$(<"$pidfile")"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    # Counted in 0.2 s ticks: SECONDS moves in whole seconds and would cut
    # the wait short by up to one.
    while ((${#pids[@]} > 0)); do
        alive=()
        for pid in "${pids[@]}"; do
            mandi_proc_alive "$pid" && alive+=("$pid")
        done
        pids=("${alive[@]+"${alive[@]}"}")
        ((${#pids[@]} == 0)) && break
        if ((ticks >= timeout * 5)); then
            mandi_say "still running after ${timeout}s, killing: ${pids[*]}"
            kill -KILL "${pids[@]}" 2>/dev/null || true
            break
        fi
        sleep 0.2
        ticks=$((ticks + 1))
    done
    for pidfile in "$@"; do
        rm -f "$pidfile"
    done
}

# mandi_wait_http URL SECONDS: waits until URL answers 200. Returns 1 on
# timeout, with the last answer left in MANDI_HTTP_CODE and MANDI_HTTP_BODY
# for the caller to show.
mandi_wait_http() {
    local url="$1" seconds="$2" deadline
    deadline=$((SECONDS + seconds))
    while :; do
        mandi_http_get "$url"
        [[ $MANDI_HTTP_CODE == 200 ]] && return 0
        ((SECONDS >= deadline)) && return 1
        sleep 0.5
    done
}

# mandi_http_get URL: sets MANDI_HTTP_CODE (000 when nothing answered) and
# MANDI_HTTP_BODY; globals rather than output, because the caller wants both.
# Uses curl when present, else a bare HTTP/1.0 request over bash's /dev/tcp
# (http:// URLs only), so a fresh machine can still check.
MANDI_HTTP_CODE=000
MANDI_HTTP_BODY=''
# shellcheck disable=SC2034 # MANDI_HTTP_BODY is read by the sourcing scripts
mandi_http_get() {
    local url="$1" out
    if command -v curl >/dev/null 2>&1; then
        out="$(curl -s --max-time 3 -w '\n%{http_code}' "$url" 2>/dev/null)" || true
        MANDI_HTTP_CODE="${out##*$'\n'}"
        MANDI_HTTP_BODY="${out%$'\n'*}"
        # One line for the messages that show it.
        MANDI_HTTP_BODY="${MANDI_HTTP_BODY%"${MANDI_HTTP_BODY##*[![:space:]]}"}"
        [[ $MANDI_HTTP_CODE =~ ^[0-9]{3}$ ]] || MANDI_HTTP_CODE=000
        return 0
    fi
    local rest="${url#http://}" hostport path host port response
    hostport="${rest%%/*}"
    path="${rest#"$hostport"}"
    path="/${path#/}"
    host="${hostport%:*}"
    host="${host#[}"
    host="${host%]}"
    port="$(mandi_url_port "$url" 80)"
    response="$(
        exec 2>/dev/null # bash reports a refused connection itself
        exec 3<>"/dev/tcp/$host/$port" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
        timeout 3 cat <&3
    )" || response=''
    MANDI_HTTP_CODE="$(printf '%s\n' "$response" | head -n 1 | cut -d' ' -f2)"
    [[ $MANDI_HTTP_CODE =~ ^[0-9]{3}$ ]] || MANDI_HTTP_CODE=000
    MANDI_HTTP_BODY="${response#*$'\r\n\r\n'}"
    MANDI_HTTP_BODY="${MANDI_HTTP_BODY%"${MANDI_HTTP_BODY##*[![:space:]]}"}"
}

# --- PostgreSQL ---------------------------------------------------------------

# The newest server installed under /usr/lib/postgresql (Debian installs each
# major version side by side and puts none of the server tools on PATH).
mandi_pg_bindir() {
    local dir best=''
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/pg_ctl ]] || continue
        if [[ -z $best ]] || [[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1)" == "$dir" ]]; then
            best="$dir"
        fi
    done
    if [[ -z $best ]]; then
        mandi_say "no PostgreSQL server under /usr/lib/postgresql (package postgresql)"
        return 1
    fi
    printf '%s\n' "$best"
}

# Runs a PostgreSQL server tool as the cluster's owner. PostgreSQL refuses to
# run as root, so under root the cluster belongs to the `postgres` system user
# (created by the postgresql package) and every server tool runs as that user.
# From /, because the caller's working directory may be one postgres cannot
# enter (the tools complain, and initdb fails); every path given is absolute.
mandi_pg_as_owner() {
    if mandi_is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            # su passes the command through a shell: quote every word (with
            # bash's quoting, hence bash as that shell).
            (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

# mandi_pg_fallback_dir DATA_DIR: the /var/tmp directory that holds the
# cluster of DATA_DIR when the postgres user cannot reach DATA_DIR itself (see
# mandi_pg_prepare_dir), named after a hash of DATA_DIR's absolute path, so
# each checkout (and each test run) gets its own.
mandi_pg_fallback_dir() {
    local hash
    hash="$(printf '%s' "$1" | sha256sum | cut -c1-16)"
    printf '/var/tmp/mandi-pg-%s\n' "$hash"
}

# mandi_pg_abspath PATH: PATH made absolute with its parent's symlinks
# resolved, but not PATH's own last component (which may be our symlink).
mandi_pg_abspath() {
    mkdir -p "$(dirname "$1")" || return 1
    printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd -P)" "$(basename "$1")"
}

# mandi_pg_prepare_dir DIR DATA_DIR KIND: makes DIR (KIND is data or socket)
# usable by the cluster's owner and prints the real path that the server
# tools must be given.
#
# Under root the owner is the postgres user. If it cannot reach DIR's parent
# (a checkout below a home directory of mode 700, or inside a mktemp -d
# directory, say), DIR lives instead in the /var/tmp directory of
# mandi_pg_fallback_dir DATA_DIR, and DIR becomes a symlink to it, so var/pg
# still leads to the cluster. Opening the checkout's parents to other users
# would be the wrong fix. The server tools get the /var/tmp path: postgres
# cannot follow the symlink, whose own directory it cannot enter.
mandi_pg_prepare_dir() {
    local dir data="$2" kind="$3" parent base target
    dir="$(mandi_pg_abspath "$1")" || return 1
    parent="$(dirname "$dir")"
    if ! mandi_is_root; then
        mkdir -p "$dir" && chmod 700 "$dir" || return 1
        printf '%s\n' "$dir"
        return 0
    fi
    if [[ ! -L $dir ]] && mandi_pg_as_owner test -x "$parent" 2>/dev/null; then
        mkdir -p "$dir" && chown postgres: "$dir" && chmod 700 "$dir" || return 1
        printf '%s\n' "$dir"
        return 0
    fi
    base="$(mandi_pg_fallback_dir "$(mandi_pg_abspath "$data")")"
    target="$base/$kind"
    if [[ -e $base && "$(stat -c %U "$base")" != postgres ]]; then
        # /var/tmp is shared by every user: a directory of that name that
        # postgres does not own was made by someone else and is not ours.
        mandi_say "$base exists and is not owned by postgres; refusing to use it"
        return 1
    fi
    mkdir -p "$target" && chown postgres: "$base" "$target" && chmod 700 "$base" "$target" ||
        return 1
    if [[ -d $dir && ! -L $dir ]]; then
        rmdir "$dir" 2>/dev/null || {
            mandi_say "$dir is not empty but the postgres user cannot reach it"
            return 1
        }
    fi
    if [[ "$(readlink "$dir" 2>/dev/null || true)" != "$target" ]]; then
        ln -sfn "$target" "$dir" || return 1
        mandi_say "note: $dir -> $target (the postgres user cannot enter $parent)"
    fi
    printf '%s\n' "$target"
}

# mandi_pg_running DATA_DIR: true when a server runs on DATA_DIR.
mandi_pg_running() {
    local data bindir
    data="$(readlink -f "$1" 2>/dev/null)" || return 1
    [[ -f $data/PG_VERSION ]] || return 1
    bindir="$(mandi_pg_bindir)" || return 1
    mandi_pg_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# mandi_pg_start DATA_DIR PORT SOCKET_DIR LOG [ROLE [DATABASE]]
# Starts a private cluster on DATA_DIR (created on first use) that listens on
# 127.0.0.1:PORT and on a Unix socket in SOCKET_DIR, with trust
# authentication: it is reachable only from this machine and holds
# development data. Creates the login role ROLE (with CREATEDB) and the
# database DATABASE it owns (both default to mandi) if they are missing.
# When a server already runs on DATA_DIR only that check is done.
# MANDI_PG_FAST=1 turns off fsync for throw-away test clusters.
mandi_pg_start() {
    local data="$1" port="$2" socket="$3" log="$4" role="${5:-mandi}" db="${6:-mandi}"
    local bindir data_real socket_real
    bindir="$(mandi_pg_bindir)" || return 1
    mkdir -p "$(dirname "$log")" || return 1

    if ! mandi_pg_running "$data"; then
        data_real="$(mandi_pg_prepare_dir "$data" "$data" data)" || return 1
        socket_real="$(mandi_pg_prepare_dir "$socket" "$data" socket)" || return 1
        if [[ ! -f $data_real/PG_VERSION ]]; then
            local initdb_args=(-D "$data_real" -U postgres --auth=trust -E UTF8 --locale=C)
            # A throw-away cluster need not wait for its files to reach disk.
            [[ ${MANDI_PG_FAST:-0} == 1 ]] && initdb_args+=(--no-sync)
            # The log is opened by this shell, not by the postgres user, so it
            # may live anywhere the caller can write.
            mandi_pg_as_owner "$bindir/initdb" "${initdb_args[@]}" >>"$log" 2>&1 || {
                mandi_say "initdb failed; see $log"
                tail -n 20 "$log" >&2
                return 1
            }
            # Settings that change between starts go to mandi.conf, rewritten
            # on every start; pg_ctl -o would pass them through a shell, which
            # breaks on paths with spaces.
            printf "\ninclude_if_exists = 'mandi.conf'\n" >>"$data_real/postgresql.conf"
        fi
        if mandi_port_busy "$port"; then
            mandi_say "port $port is already in use; cannot start PostgreSQL for $data"
            return 1
        fi
        {
            printf "# Written by scripts/lib.sh on every start.\n"
            printf "listen_addresses = '127.0.0.1'\n"
            printf "port = %s\n" "$port"
            printf "unix_socket_directories = '%s'\n" "${socket_real//\'/\'\'}"
            # Tests start many workers, each with its own connections.
            printf "max_connections = 200\n"
            if [[ ${MANDI_PG_FAST:-0} == 1 ]]; then
                printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            fi
        } >"$data_real/mandi.conf" || return 1
        if mandi_is_root; then
            chown postgres: "$data_real/mandi.conf" || return 1
        fi
        # Without -l the server writes to pg_ctl's standard output, which is
        # the log opened here.
        mandi_pg_as_owner "$bindir/pg_ctl" -D "$data_real" -w -t 60 start \
            >>"$log" 2>&1 </dev/null || {
            mandi_say "PostgreSQL did not start; see $log"
            tail -n 20 "$log" >&2
            return 1
        }
    fi

    local psql=("$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
        -v ON_ERROR_STOP=1 -At)
    local exists
    exists="$(PGCONNECT_TIMEOUT=10 "${psql[@]}" -v name="$role" \
        <<<"SELECT 1 FROM pg_roles WHERE rolname = :'name'")" || return 1
    if [[ -z $exists ]]; then
        PGCONNECT_TIMEOUT=10 "${psql[@]}" -v name="$role" \
            <<<"CREATE ROLE :\"name\" LOGIN CREATEDB" || return 1
    fi
    exists="$(PGCONNECT_TIMEOUT=10 "${psql[@]}" -v name="$db" \
        <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")" || return 1
    if [[ -z $exists ]]; then
        PGCONNECT_TIMEOUT=10 "${psql[@]}" -v name="$db" -v owner="$role" \
            <<<"CREATE DATABASE :\"name\" OWNER :\"owner\"" || return 1
    fi
}

# mandi_pg_stop DATA_DIR: stops the cluster on DATA_DIR if it runs.
mandi_pg_stop() {
    local data bindir
    mandi_pg_running "$1" || return 0
    data="$(readlink -f "$1")"
    bindir="$(mandi_pg_bindir)" || return 1
    # fast: roll back open transactions and disconnect clients now rather
    # than waiting for every worker's connection to close by itself.
    mandi_pg_as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
}

# mandi_pg_destroy DATA_DIR: stops the cluster and deletes its files,
# including the /var/tmp directory that DATA_DIR may link to.
mandi_pg_destroy() {
    local data="$1" target
    mandi_pg_stop "$data" || true
    if [[ -L $data ]]; then
        target="$(readlink "$data")"
        if [[ $target == /var/tmp/mandi-pg-*/data ]]; then
            rm -rf "$(dirname "$target")"
        fi
    fi
    rm -rf "$data"
}

# --- Redis ----------------------------------------------------------------------

# mandi_redis_start DIR PORT: a daemonized redis-server on 127.0.0.1:PORT with
# its working directory, pid file and log in DIR, and no persistence: Redis
# holds only caches and rate-limit counters here, which may be lost.
# Does nothing when the server of DIR already runs.
mandi_redis_start() {
    local dir="$1" port="$2" deadline
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd -P)"
    if mandi_pid_alive "$dir/redis.pid" redis-server; then
        return 0
    fi
    if mandi_port_busy "$port"; then
        mandi_say "port $port is already in use; cannot start Redis for $dir"
        return 1
    fi
    rm -f "$dir/redis.pid"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --daemonize yes --save '' --appendonly no >/dev/null || {
        mandi_say "redis-server failed to start; see $dir/redis.log"
        return 1
    }
    # The daemon writes its pid file and opens the port a moment after the
    # foreground process returns.
    deadline=$((SECONDS + 10))
    until mandi_pid_alive "$dir/redis.pid" && mandi_port_busy "$port"; do
        if ((SECONDS >= deadline)); then
            mandi_say "Redis did not come up on port $port; see $dir/redis.log"
            tail -n 20 "$dir/redis.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
}

# mandi_redis_stop DIR: stops the server of DIR if it runs. Without
# persistence SIGTERM makes Redis exit at once.
mandi_redis_stop() {
    local dir="$1"
    if mandi_pid_alive "$dir/redis.pid" redis-server; then
        mandi_stop_pids 10 "$dir/redis.pid"
    fi
    rm -f "$dir/redis.pid"
}
