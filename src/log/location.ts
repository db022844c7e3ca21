/**
 * Whether `--db` (`HUSKY_RELAY_DB`) names a PostgreSQL database (`postgres://…`,
 * `postgresql://…`, SPEC §13) rather than a SQLite file path. No driver is loaded to tell.
 */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The URL without its password, to name the database in messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the PostgreSQL URL';
  }
}
