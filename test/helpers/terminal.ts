import { spawn } from 'node:child_process';
import { assertBuilt, CLI, cliEnv } from './cli.js';

/** What a terminal showed a command Ctrl-C stopped. */
export interface InterruptedRun {
  /** The command's exit code (`script` passes it on). */
  code: number | null;
  /** stdout and stderr as the terminal got them, escapes kept, `\r\n` made `\n`. */
  output: string;
}

/**
 * Runs `node dist/cli.js ...args` in `cwd` on a terminal (`script` gives it a pty, as
 * `runOnTerminal` does) and presses Ctrl-C (the pty's ^C: SIGINT to the command, as a person at a
 * shell sends it) as soon as its output matches `when` (a progress bar's frame, a header line).
 * Rejects if the command ends first. Environment: `cliEnv(extraEnv)`.
 */
export function interruptOnTerminal(args: string[], options: { cwd: string; when: RegExp; env?: Record<string, string> }): Promise<InterruptedRun> {
  assertBuilt();
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // exec: the shell `script` runs must not stay in the terminal's process group, where ^C would end it instead
  const command = `exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let pressed = false;
    const take = (s: string) => {
      output += s;
      if (!pressed && options.when.test(output)) {
        pressed = true;
        child.stdin.write('\x03');
      }
    };
    child.stdout.setEncoding('utf8').on('data', take);
    child.stderr.setEncoding('utf8').on('data', take);
    child.on('error', reject);
    child.on('close', (code) => {
      const run = { code, output: output.replace(/\r\n/g, '\n') };
      if (pressed) resolve(run);
      else reject(new Error(`ended (${code}) before ${options.when} showed:\n${run.output}`));
    });
  });
}
