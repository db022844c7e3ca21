import { spawnSync } from 'node:child_process';

/** A pid that was alive a moment ago and is not any more. */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}
