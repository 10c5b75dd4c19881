# Sourced (by .ci/run and `make test-postgres`): starts a throwaway PostgreSQL server on loopback
# for the store tests and exports WALLETCTL_TEST_POSTGRES, unless that is already set.
# Debian's postgresql is installed when no initdb is found. The server runs as the postgres user
# (initdb refuses root), with fsync off (the data is deleted afterwards), and stops when the
# sourcing shell exits.
walletctl_pg_start() {
  local bindir initdb
  if command -v initdb >/dev/null 2>&1; then
    initdb=$(command -v initdb)
    bindir=$(dirname "$(readlink -f "$initdb")")
  else
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
      echo "postgres.sh: installing Debian's postgresql"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
      bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
  fi
  local dir port run=()
  dir=$(mktemp -d "${TMPDIR:-/tmp}/walletctl-pg.XXXXXX") || return 1
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres || return 1
    chown postgres "$dir"
    run=(runuser -u postgres -- env -C /) # the postgres user may not enter the caller's folder
  fi
  # A free port: the first in a seeded-by-pid range that nothing answers on.
  port=$((20000 + $$ % 20000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  "${run[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log"; rm -rf "$dir"; return 1; }
  "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log"; rm -rf "$dir"; return 1; }
  "${run[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres walletctl_test || return 1
  WALLETCTL_PG_DIR=$dir
  WALLETCTL_PG_CTL=("${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast stop)
  export WALLETCTL_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/walletctl_test?sslmode=disable"
  trap 'walletctl_pg_stop' EXIT
  echo "postgres.sh: PostgreSQL ($("$bindir/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
}

walletctl_pg_stop() {
  if [ -n "${WALLETCTL_PG_DIR:-}" ]; then
    "${WALLETCTL_PG_CTL[@]}" >/dev/null 2>&1 || true
    rm -rf "$WALLETCTL_PG_DIR"
    WALLETCTL_PG_DIR=
  fi
}

if [ -z "${WALLETCTL_TEST_POSTGRES:-}" ]; then
  walletctl_pg_start || { echo "postgres.sh: could not start PostgreSQL" >&2; false; }
fi
