import type { Pool } from 'pg';
import { DEFAULTS } from '../../config/defaults.js';
import type { Lease } from '../seam.js';

/**
 * A lease in `hr_leases`, timed by the database's clock (`now()`), never a relay's: relays on
 * machines whose clocks disagree still agree on who holds it. Taking it succeeds when it is free,
 * lapsed, or already this holder's; each success extends it to `ttlMs` from now.
 */
export class PgLease implements Lease {
  constructor(
    private readonly pool: Pool,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number = DEFAULTS.pipeline.leaseTtlMs,
  ) {}

  async hold(): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO hr_leases (name, holder, until) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE hr_leases.holder = excluded.holder OR hr_leases.until < now()
       RETURNING holder`,
      [this.name, this.holder, this.ttlMs],
    );
    return result.rowCount === 1;
  }

  async release(): Promise<void> {
    await this.pool.query(`DELETE FROM hr_leases WHERE name = $1 AND holder = $2`, [this.name, this.holder]);
  }
}
