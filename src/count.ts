const english = new Intl.PluralRules('en-US');

/**
 * The form of a noun that goes with the number `n`, as English picks it (Intl.PluralRules
 * 'en-US'): `one` for exactly 1, `other` for anything else (0, 2, 1.5). `plural(1, 'entry',
 * 'entries')` is `entry`.
 */
export function plural(n: number, one: string, other: string): string {
  return english.select(n) === 'one' ? one : other;
}

/**
 * A count as every message to people writes it: the number, a space, the noun in the form that
 * goes with it (`plural`): `count(1, 'entry', 'entries')` is `1 entry`, `count(0, …)` `0 entries`.
 * `grouped`: the number with en-US thousands separators (`12,345 entries`). (Default: false, `String(n)`)
 */
export function count(n: number, one: string, other: string, grouped = false): string {
  return `${grouped ? n.toLocaleString('en-US') : String(n)} ${plural(n, one, other)}`;
}
