import { UserError } from '../errors.js';
import type { LogWriter } from '../log/seam.js';
import type { ProjectionReader } from '../project/reader.js';
import { didYouMean } from '../rules/did-you-mean.js';

/**
 * `husky-relay resume SINK` and the console's resume button (README "When a rule fails at run
 * time", "Console"): appends `sink.resumed` (code `resume`) for a sink paused after its
 * credentials were refused; a running `serve` picks it up. `knownSinks` names the sinks the
 * rules file declares (for the message about a sink that is not paused); `by` names who asked
 * when it is not the CLI (`console`). Resolves with the pause that ended. Throws `UserError`
 * naming the paused sinks when `sink` is not paused.
 */
export async function resumeSink(
  projections: ProjectionReader,
  writer: LogWriter,
  sink: string,
  knownSinks: () => Promise<string[]>,
  by?: string,
): Promise<{ at: string; reason: string }> {
  const states = await projections.sinkStates();
  const paused = Object.keys(states).filter((name) => states[name]!.paused);
  const state = states[sink]?.paused;
  if (!state) {
    const known = [...new Set([...(await knownSinks()), ...Object.keys(states)])];
    const what = known.includes(sink) ? `sink "${sink}" is not paused` : `no sink "${sink}"${didYouMean(sink, known)}`;
    throw new UserError(`resume: ${what} (paused: ${paused.length ? paused.join(', ') : 'none'})`);
  }
  const reason = by === undefined ? 'resumed by hand (husky-relay resume)' : `resumed by hand (${by})`;
  await writer.append([{ type: 'sink.resumed', data: { sink, reason, code: 'resume', ...(by === undefined ? {} : { by }) } }]);
  return state;
}
