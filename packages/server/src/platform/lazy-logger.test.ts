import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LazyRequestLogger, loggerOptions } from './logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const parent = pino(loggerOptions(level), { write: (line: string) => lines.push(JSON.parse(line)) });
  return { parent, lines };
}

describe('LazyRequestLogger', () => {
  it('logs like a pino child, with its bindings and redaction, at enabled levels', () => {
    const { parent, lines } = capture('info');
    const log = new LazyRequestLogger(parent, { reqId: 'r-1' });
    log.info({ req: { method: 'GET', url: '/x?token=secret' }, body: { password: 'hunter2' } }, 'hello');
    log.debug('not at info');
    log.warn('careful');
    expect(lines.map((line) => line.msg)).toEqual(['hello', 'careful']);
    expect(lines[0]).toMatchObject({
      reqId: 'r-1',
      body: { password: '[redacted]' },
      req: { url: '/x?token=[redacted]' },
    });
    expect(log.level).toBe('info');
  });

  it('never makes a child when nothing is logged at an enabled level', () => {
    const { parent, lines } = capture('warn');
    let children = 0;
    const counting = Object.create(parent, {
      child: {
        value: (...args: Parameters<typeof parent.child>) => {
          children++;
          return parent.child(...args);
        },
      },
    }) as typeof parent;
    const log = new LazyRequestLogger(counting, { reqId: 'r-2' });
    log.info('request completed');
    log.debug('details');
    expect(children).toBe(0);
    log.error('boom');
    log.error('again');
    expect(children).toBe(1);
    expect(lines.map((line) => [line.msg, line.reqId])).toEqual([
      ['boom', 'r-2'],
      ['again', 'r-2'],
    ]);
  });
});

describe('redaction of database errors', () => {
  it('leaves out the parameters an embedded-database error carries (they can be secrets or their hashes)', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create();
    const error = await db
      .query('select $1::text, 1 / 0', ['fl_not-a-number-and-a-secret'])
      .catch((e: unknown) => e);
    await db.close();
    const { parent, lines } = capture('error');
    parent.error({ err: error }, 'unhandled error');
    expect(JSON.stringify(lines[0])).not.toContain('fl_not-a-number-and-a-secret');
    expect(lines[0]).toMatchObject({ err: { params: '[redacted]' } });
  });
});
