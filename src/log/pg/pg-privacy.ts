import { UserError } from '../../errors.js';
import type { PrivacyLog } from '../seam.js';

/**
 * Personal data on the PostgreSQL log: not built yet. Payloads are kept in the entries there,
 * unencrypted, with no hash chain; erasure, retention and `log --verify` refuse with one line
 * saying so (README "Past one machine: PostgreSQL"), rather than pretend. `chain_head` is null.
 */
export class PgPrivacy implements PrivacyLog {
  private refuse(what: string): never {
    throw new UserError(`${what} is not available on a PostgreSQL log yet (README "Past one machine: PostgreSQL", what is not built yet); it works on SQLite`, 'not_on_postgres');
  }
  callsOfContact(): Promise<string[]> {
    return this.refuse('erase');
  }
  erasable(): ReturnType<PrivacyLog['erasable']> {
    return this.refuse('erase');
  }
  erase(): ReturnType<PrivacyLog['erase']> {
    return this.refuse('erase');
  }
  callsLastSeenBefore(): Promise<string[]> {
    return this.refuse('retention');
  }
  verifyChain(): ReturnType<PrivacyLog['verifyChain']> {
    return this.refuse('log --verify (the hash chain)');
  }
  async chainHead(): Promise<string | null> {
    return null;
  }
}
