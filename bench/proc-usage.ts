// CPU time and memory read from Linux /proc: the whole machine's, one process's, its children's and
// the local `postgres` processes'. They let a row say who used the CPU during its window, so a
// figure disturbed by other work is flagged instead of quoted. Every reader returns null (or
// nothing) where /proc cannot be read, never a made-up figure.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** 1-minute load average when the run started (it lags: other work that just ended still shows). */
export const loadAtStart = os.loadavg()[0] ?? 0;
/** Share of all cores busy during one second before the run; above this, figures are suspect. */
export const BUSY_SHARE = 0.2;

/** The whole machine's CPU counters in clock ticks: the `cpu` line of /proc/stat (throws off Linux). */
function machineCpuFields(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
}

/** Busy share of all cores over `ms` (Linux /proc/stat), or null where that cannot be read. */
export async function cpuBusyShare(ms: number): Promise<number | null> {
  const sample = () => {
    const fields = machineCpuFields();
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
  };
  try {
    const first = sample();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const second = sample();
    const total = second.total - first.total;
    return total > 0 ? 1 - (second.idle - first.idle) / total : null;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One process's /proc/<pid>/stat fields after the command name, and the name; null if gone. */
function procStat(pid: string): { name: string; fields: string[] } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

/** The pids of `parent`'s child processes (Linux /proc); empty where unreadable. */
export function childPids(parent: number | undefined): string[] {
  if (parent === undefined) return [];
  try {
    return readdirSync('/proc').filter(
      (entry) => /^\d+$/.test(entry) && procStat(entry)?.fields[1] === String(parent),
    );
  } catch {
    return [];
  }
}

/** CPU time of these processes in µs (Linux /proc), or null when unreadable. */
export function processesCpuMicros(pids: string[]): number | null {
  let ticks = 0;
  for (const pid of pids) {
    const stat = procStat(pid);
    if (stat) ticks += Number(stat.fields[11]) + Number(stat.fields[12]); // utime, stime
  }
  return pids.length === 0 ? null : (ticks * 1e6) / CLOCK_TICKS;
}

/** VmHWM of these processes, summed (bytes), after `resetPeaks` cleared them; null if unreadable. */
export function processesPeakRss(pids: string[]): number | null {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) total += Number(kb) * 1000;
    } catch {}
  }
  return total > 0 ? total : null;
}

/** Resets these processes' VmHWM to their current RSS (writing 5 to clear_refs), as control.ts does. */
export function resetPeaks(pids: string[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {}
  }
}

/** CPU time of every local `postgres` process in µs (Linux /proc), or null when unreadable. */
export function postgresCpuMicros(): number | null {
  try {
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    }
    return (ticks * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** User+system CPU time of the whole machine in µs (Linux /proc/stat), or null when unreadable. */
export function machineCpuMicros(): number | null {
  try {
    const fields = machineCpuFields();
    return (((fields[0] ?? 0) + (fields[1] ?? 0) + (fields[2] ?? 0)) * 1e6) / CLOCK_TICKS; // user, nice, system
  } catch {
    return null;
  }
}
