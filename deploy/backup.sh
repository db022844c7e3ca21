#!/usr/bin/env bash
# Online backup of the husky-relay log while `serve` runs, with retention.
#
#   sudo -u husky-relay /opt/husky-relay/deploy/backup.sh
#
# Settings (environment):
#   HUSKY_RELAY_DB     the log            (default /var/lib/husky-relay/husky-relay.db)
#   BACKUP_DIR         where copies go    (default /var/lib/husky-relay/backups)
#   BACKUP_KEEP_DAYS   delete older ones  (default 14)
#
# With the sqlite3 CLI: `.backup` (SQLite's online backup API). Without it: VACUUM INTO
# through better-sqlite3 (deploy/backup.mjs). Both give a consistent copy of one moment,
# WAL included, without stopping the relay. Each copy is checked (integrity_check) and
# gzipped. The webhook secret that `serve` generated beside the log (webhook-secret, beside the
# database file itself when HUSKY_RELAY_DB is a symlink, as the relay keeps it), if
# there is one, is copied beside the backup (mode 0600): restored without it, every webhook
# HuskyVoice signs would be refused. /etc/husky-relay/env (your own secrets and tokens) is
# not the log's: keep a copy of it elsewhere. Restore: README.md, "Deployment on a VM",
# section "Backups".
#
# Daily at 03:17, in root's crontab (crontab -e):
#   17 3 * * * /usr/bin/sudo -u husky-relay /opt/husky-relay/deploy/backup.sh
set -euo pipefail
umask 077

DB="${HUSKY_RELAY_DB:-/var/lib/husky-relay/husky-relay.db}"
DEST="${BACKUP_DIR:-/var/lib/husky-relay/backups}"
KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# the relay keeps its files beside the database file, symlinks followed; an older relay kept the
# secret beside the link, and reads it there while no copy is beside the database file
SECRET_FILE="$(dirname "$(readlink -f -- "$DB")")/webhook-secret"
[ -f "$SECRET_FILE" ] || SECRET_FILE="$(dirname "$DB")/webhook-secret"

[ -f "$DB" ] || { echo "backup: no database at $DB" >&2; exit 1; }
mkdir -p "$DEST"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$DEST/husky-relay-$STAMP.db"
[ -e "$OUT" ] && { echo "backup: $OUT exists" >&2; exit 1; }

if command -v sqlite3 >/dev/null 2>&1; then
  # .timeout: wait for a moment the relay holds the write lock instead of failing
  sqlite3 "$DB" ".timeout 10000" ".backup '$OUT'"
  check="$(sqlite3 "$OUT" "PRAGMA integrity_check;")"
  [ "$check" = "ok" ] || { echo "backup: integrity_check of $OUT: $check" >&2; rm -f "$OUT"; exit 1; }
else
  node "$HERE/backup.mjs" "$DB" "$OUT" || { rm -f "$OUT"; exit 1; }
fi

gzip -9 "$OUT"
echo "backup: $OUT.gz ($(du -h "$OUT.gz" | cut -f1))"

if [ -f "$SECRET_FILE" ]; then
  cp "$SECRET_FILE" "$DEST/husky-relay-$STAMP.webhook-secret"
  chmod 600 "$DEST/husky-relay-$STAMP.webhook-secret"
  echo "backup: $DEST/husky-relay-$STAMP.webhook-secret (the generated webhook secret)"
fi

# retention: copies older than KEEP_DAYS days go
find "$DEST" -maxdepth 1 \( -name 'husky-relay-*.db.gz' -o -name 'husky-relay-*.webhook-secret' \) -type f -mtime "+$KEEP_DAYS" -print -delete
