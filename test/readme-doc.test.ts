// The README test's reading of the README: what a shown answer allows and refuses, and how shell
// steps are cut. (If these were lax, test/readme.test.ts would pass whatever the server answered.)
import { describe, expect, it } from 'vitest';
import { type Block, mismatches, readmeBlocks, shellSteps } from './readme-doc.ts';

const block = (text: string): Block => ({ lang: 'sh', section: 'test', line: 1, text });
const answerOf = (shown: string) => {
  const [step] = shellSteps(block(`curl -s x\n# → ${shown}`));
  return step?.answer;
};
const check = (shown: string, actual: unknown) =>
  mismatches(answerOf(shown)?.body ?? { kind: 'any' }, actual);

describe('shown answers', () => {
  it('an object without "…" has exactly the members shown', () => {
    expect(check('{"a":"…","b":1}', { a: 'x', b: 1 })).toEqual([]);
    expect(check('{"a":"…","b":1}', { a: 'x', b: 1, c: 2 })).toEqual([
      '$.c: not shown in the README (add it, or "…")',
    ]);
    expect(check('{"a":"…","b":1}', { a: 1, b: 1 })).toHaveLength(1);
    expect(check('{"a":"…","b":1}', { b: 1 })).toEqual(['$.a: missing']);
    expect(check('{}', { a: 1 })).toHaveLength(1);
  });

  it('"…" members allow others; literal members must match', () => {
    expect(check('{…,"tier":"prod",…}', { id: 'x', tier: 'prod' })).toEqual([]);
    expect(check('{…,"tier":"prod",…}', { id: 'x', tier: 'dev' })).toHaveLength(1);
    expect(check('{"code":"not_found",…}', { code: 'forbidden', status: 403 })).toHaveLength(1);
  });

  it('strings with "…" match their shape only', () => {
    expect(check('{"t":"eyJ…"}', { t: 'eyJhbGci' })).toEqual([]);
    expect(check('{"t":"eyJ…"}', { t: 'opr_x' })).toHaveLength(1);
    expect(check('{"t":"eyJ…"}', { t: 42 })).toHaveLength(1);
    expect(check('{"u":"https://…/cli?x=…"}', { u: 'https://h/cli?x=1' })).toEqual([]);
  });

  it('[…] and {…} are any array and any object; listed elements are checked', () => {
    expect(check('{"s":[…],"o":{…}}', { s: [1, 2], o: { a: 1 } })).toEqual([]);
    expect(check('{"s":[…]}', { s: 'no' })).toHaveLength(1);
    expect(check('{"s":["a","b"]}', { s: ['a'] })).toHaveLength(1);
    expect(check('{"s":["a",…]}', { s: ['a', 'c'] })).toEqual([]);
  });

  it('reads a status, a bare status, and an annotation after the body', () => {
    expect(answerOf('201 {"id":"…"}')?.status).toBe(201);
    expect(answerOf('204')).toMatchObject({ status: 204, body: null });
    expect(answerOf('{"key":"fl_…"}   ← copy "key" now')?.status).toBeNull();
    expect(() => answerOf('{"a":1} and more')).toThrow(/unexpected text/);
  });
});

describe('shell steps', () => {
  it('joins continuation lines and multi-line quotes, and keeps a trailing comment as the note', () => {
    const steps = shellSteps(
      block(
        [
          '# prose',
          'curl -s -X POST $API/x \\',
          '  -d \'{"a":1,',
          '  "b":2}\'',
          '# → 201 {"id":"…"}',
          'TOKEN=eyJ…   # its access_token',
          'npm run orgplane -- login --url https://h',
          '# stderr: first',
          '#         second',
          '# stdout: done',
        ].join('\n'),
      ),
    );
    expect(steps.map((s) => [s.line, s.command, s.note])).toEqual([
      [3, 'curl -s -X POST $API/x \\\n  -d \'{"a":1,\n  "b":2}\'', ''],
      [7, 'TOKEN=eyJ…', 'its access_token'],
      [8, 'npm run orgplane -- login --url https://h', ''],
    ]);
    expect(steps[0]?.answer?.status).toBe(201);
    expect(steps[2]?.streams).toEqual({ stderr: ['first', 'second'], stdout: ['done'] });
  });

  it('refuses an answer with no command above it', () => {
    expect(() => shellSteps(block('# → {}'))).toThrow(/without a command above it/);
  });

  it('finds the README blocks with their sections', () => {
    const blocks = readmeBlocks();
    expect(
      blocks.some((b) => b.lang === 'js' && b.section.startsWith('Sign-in for other applications')),
    ).toBe(true);
    expect(blocks.filter((b) => b.lang === 'sh').length).toBeGreaterThan(5);
  });
});
