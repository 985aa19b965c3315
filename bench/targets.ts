// The issue targets checked from the measurements: issue 3's and 11's req/s ratios to bare
// node:http (the goals themselves are in bench/logging.ts, per logging mode) and the scale run's p99
// and RSS bounds. Errors under load make a figure meaningless, so they are never a PASS.
import { formatCount, formatMb, formatMs, formatRatio } from './format.ts';
import type { Measurement } from './measure.ts';
import type { ScaleResult } from './scale.ts';

/** Scale: whoami (API key) p99 with the large table at most this multiple of the small one's. */
const SCALE_P99_TARGET = 1.2;
/** Scale: the server's peak RSS under that load at most this. */
const SCALE_RSS_TARGET_MB = 200;

export interface TargetResult {
  backend: string;
  what: string;
  goal: string;
  measured: string;
  pass: boolean;
}

export function ratioTarget(m: Measurement, baseline: number): TargetResult | null {
  if (m.target.goal === undefined) return null;
  const ratio = m.rps / baseline;
  return {
    backend: m.backend,
    what: `${m.target.label}: req/s ÷ bare`,
    goal: `≥ ${m.target.goal.toFixed(2)}×`,
    measured: `${formatRatio(ratio)}×`,
    // Errors under load make the figure meaningless: never a PASS.
    pass: ratio >= m.target.goal && m.non2xx + m.errors === 0,
  };
}

export function scaleTargets(result: ScaleResult): TargetResult[] {
  const [small, large] = result.points;
  const ratio = large.measurement.p99 / small.measurement.p99;
  const peak = large.measurement.peakRss ?? 0;
  const clean = result.points.every((point) => point.measurement.non2xx + point.measurement.errors === 0);
  return [
    {
      backend: result.backend,
      what: `whoami (API key) p99, ${formatCount(large.rows)} ÷ ${formatCount(small.rows)} keys stored`,
      goal: `≤ ${SCALE_P99_TARGET.toFixed(1)}×`,
      measured: `${ratio.toFixed(2)}× (${formatMs(large.measurement.p99)} / ${formatMs(small.measurement.p99)} ms)`,
      pass: ratio <= SCALE_P99_TARGET && clean,
    },
    {
      backend: result.backend,
      what: `server peak RSS under that load, ${formatCount(large.rows)} keys stored`,
      goal: `≤ ${SCALE_RSS_TARGET_MB} MB`,
      measured: `${formatMb(peak)} MB`,
      pass: peak > 0 && peak <= SCALE_RSS_TARGET_MB * 1e6,
    },
  ];
}
