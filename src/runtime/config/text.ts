// Turning the text of a flag or DRAGON_* variable into the typed value the
// schema checks. A text that does not parse is passed on unchanged, so the
// schema rejects it with its own "expected ..." message: one place says
// what a valid value looks like.

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export function booleanFromText(text: string): boolean | string {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  return text;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** "2s", "500ms", "1.5s", "1m", "2000" (milliseconds) -> milliseconds. */
export function durationFromText(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) return text;
  const ms = Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()]!;
  return Number.isInteger(ms) ? ms : Math.round(ms);
}

export function integerFromText(text: string): number | string {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Bytes of a pool size as the schema accepts it ("512M", "2G", "1.5GiB",
 * "1048576"; K/M/G/T are powers of 1024, "GB" means GiB as in Slurm), or for
 * a share ("25%") that share of `freeBytes` (free space in /dev/shm).
 */
export function poolSizeBytes(size: string, freeBytes: number): number {
  const s = size.trim();
  if (s.endsWith('%')) return Math.floor((freeBytes * Number(s.slice(0, -1))) / 100);
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(s);
  if (!m) throw new RangeError(`not a pool size: ${JSON.stringify(size)}`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
}
