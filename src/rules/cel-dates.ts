import type { ASTNode } from '@marcbachmann/cel-js';
import { parseDateTime } from '../dates.js';
import { callsOf } from './cel-regex.js';

/**
 * CEL's timestamps read the relay's way, whatever the host's time zone (README "Dates and time
 * zones"). cel-js reads `timestamp(string)` with `new Date(text)`, which takes a zone-less
 * `2026-06-01T10:00:00.5` in the host's zone (and refuses the same without a fraction), and
 * computes `getDayOfYear()` and every getter given a zone from dates built in the host's zone:
 * `when` conditions then differed between `rules test` on a laptop and `serve` on a server.
 */

type Node = ASTNode & { handle?: (...a: unknown[]) => unknown };

/** Year 1 to 9999, the range CEL gives timestamps. */
const MIN = -62_135_596_800_000;
const MAX = 253_402_300_799_999;

function timestampOf(text: string): Date {
  const ms = parseDateTime(text);
  if (ms === null || ms < MIN || ms > MAX) {
    throw new Error(`timestamp(): "${text.slice(0, 40)}" is not an RFC 3339 date-time such as 2026-06-01T10:00:00Z (no zone means UTC)`);
  }
  return new Date(ms);
}

interface Parts { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number }

const formats = new Map<string, Intl.DateTimeFormat>();
/** A fixed offset, which CEL allows as a zone and Node's Intl does not. */
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall-clock fields of `date` in `zone` (an IANA name or `±HH:MM`), or in UTC. */
function partsIn(date: Date, zone: string | undefined): Parts {
  const offset = zone === undefined ? null : OFFSET.exec(zone);
  if (offset) {
    const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
    return partsIn(new Date(date.getTime() + minutes * 60_000), undefined);
  }
  if (zone === undefined) {
    return { year: date.getUTCFullYear(), month: date.getUTCMonth(), day: date.getUTCDate(), hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds(), weekday: date.getUTCDay() };
  }
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short', era: 'short' });
    if (formats.size < 100) formats.set(zone, format);
  }
  const p = Object.fromEntries(format.formatToParts(date).map((x) => [x.type, x.value]));
  const year = p['era'] === 'BC' ? 1 - Number(p['year']) : Number(p['year']);
  return { year, month: Number(p['month']) - 1, day: Number(p['day']), hour: Number(p['hour']), minute: Number(p['minute']), second: Number(p['second']), weekday: WEEKDAYS.indexOf(p['weekday']!) };
}

function dayOfYear(p: Parts): number {
  const at = (month: number, day: number) => {
    const d = new Date(0);
    d.setUTCFullYear(p.year, month, day);
    return d.getTime();
  };
  return Math.round((at(p.month, p.day) - at(0, 1)) / 86_400_000);
}

const GETTERS: Record<string, (p: Parts, date: Date) => number> = {
  getFullYear: (p) => p.year,
  getMonth: (p) => p.month,
  getDate: (p) => p.day,
  getDayOfMonth: (p) => p.day - 1,
  getDayOfWeek: (p) => p.weekday,
  getDayOfYear: dayOfYear,
  getHours: (p) => p.hour,
  getMinutes: (p) => p.minute,
  getSeconds: (p) => p.second,
  getMilliseconds: (_p, date) => date.getUTCMilliseconds(),
};

/**
 * Points `timestamp(string)` and the timestamp getters of a type-checked expression at the
 * relay's reading (as `useRe2ForMatches` does for `matches`); other overloads (`timestamp(int)`,
 * a getter on a duration) keep cel-js' own. `assertRelayDates` proves at start-up that it took.
 */
export function useRelayDates(root: ASTNode): void {
  for (const node of callsOf(root) as Node[]) {
    const original = node.handle;
    if (!original) continue;
    if (node.op === 'call' && node.args[0] === 'timestamp' && node.args[1].length === 1) {
      node.handle = (args: unknown, ...rest: unknown[]) => {
        const [value] = args as unknown[];
        return typeof value === 'string' ? timestampOf(value) : original(args, ...rest);
      };
    }
    const getter = node.op === 'rcall' && node.args[2].length <= 1 ? GETTERS[node.args[0]] : undefined;
    if (getter) {
      node.handle = (args: unknown, ...rest: unknown[]) => {
        const [date, zone] = args as unknown[];
        if (!(date instanceof Date) || (zone !== undefined && typeof zone !== 'string')) return original(args, ...rest);
        return BigInt(getter(partsIn(date, zone), date));
      };
    }
  }
}
