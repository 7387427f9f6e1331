/**
 * XAPI writes datetimes as `20250319T04:16:24Z` (ISO 8601 basic date, extended time: "because of some
 * client limitations the hyphens have to be absent") and reads that or RFC 3339. A missing zone means UTC.
 */
const XAPI_DATE = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parse a wire datetime; `undefined` when the text is not one. */
export function parseXapiDate(text: string): Date | undefined {
  const m = XAPI_DATE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The form XAPI itself prints (UTC, no hyphens), which every XAPI version parses. */
export function formatXapiDate(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}Z`
  );
}
