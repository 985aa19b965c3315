// How figures are written in the report (and in the progress lines on stderr): fixed precisions
// chosen per unit, so the tables line up and runs compare at a glance.

export const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

export function formatRps(rps: number): string {
  return rps.toLocaleString('en-US', { maximumFractionDigits: rps >= 100 ? 0 : 1 });
}

/** Two decimals, or two significant digits below 0.1 (login is ~0.001× by design). */
export function formatRatio(ratio: number): string {
  return ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

export function formatMs(ms: number): string {
  return Number.isNaN(ms) ? '—' : ms.toFixed(ms < 10 ? 2 : 1);
}

export function formatMicros(micros: number | null): string {
  // One decimal below 100 µs: the hot paths differ from each other by fractions of a microsecond.
  const digits = micros !== null && micros < 100 ? 1 : 0;
  return micros === null
    ? '—'
    : micros.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** Megabytes (10⁶ bytes), the unit of the RSS target. */
export function formatMb(bytes: number | null): string {
  return bytes === null ? '—' : (bytes / 1e6).toFixed(0);
}
