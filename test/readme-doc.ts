// Reads README.md the way test/readme.test.ts runs it: its fenced ```sh and ```js blocks, each sh
// block cut into steps (one shell command, continuation lines and multi-line quotes included), and
// the answers the README shows beneath a step:
//
//   # → 201 {"id":"…","name":"Production",…}     status (optional: any 2xx) and the JSON body
//   # stderr: first line…                           what a command prints on a stream; further
//   #         second line                           lines of it are indented comment lines
//
// In a shown answer, `…` elides: `"…"` any string, `"fl_…"` a string with that start (the `…` may
// stand anywhere in a string), `{…}` any object, `[…]` any array, a `…` member other members (an
// object without one must have exactly the members shown), a `…` element further elements.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Block {
  lang: string;
  /** The `## ` section it is in. */
  section: string;
  /** 1-based line of the opening fence. */
  line: number;
  text: string;
}

export interface Step {
  /** 1-based README line where the command starts. */
  line: number;
  /** The command as written (continuation lines joined with their newlines), without its comment. */
  command: string;
  /** A trailing `# …` comment on the command's last line. */
  note: string;
  /** The `# → …` line under it, parsed. */
  answer?: { status: number | null; body: Pattern | null; text: string };
  /** `# stdout:` / `# stderr:` lines under it. */
  streams: { stdout?: string[]; stderr?: string[] };
}

export function readmeBlocks(file = path.resolve(import.meta.dirname, '../README.md')): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.+)$/.exec(lines[i] as string);
    if (heading) section = heading[1] as string;
    const open = /^(\s*)```(\w+)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] as string); j++)
      body.push((lines[j] as string).slice(indent));
    blocks.push({ lang: open[2] as string, section, line: i + 1, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** Where a shell line stands: inside an unclosed quote, and where a `#` comment starts (-1: none). */
function scan(text: string): { open: boolean; commentAt: number } {
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = '';
    } else if (c === '\\') i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) return { open: false, commentAt: i };
  }
  return { open: quote !== '', commentAt: -1 };
}

export function shellSteps(block: Block): Step[] {
  const lines = block.text.split('\n');
  const steps: Step[] = [];
  let stream: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.trim();
    const at = block.line + 1 + i;
    if (line === '') continue;
    const last = steps.at(-1);
    const shown = /^#\s*→\s*(.*)$/.exec(line);
    if (shown) {
      if (!last || last.answer)
        throw new Error(`README line ${at}: a "# →" answer without a command above it`);
      last.answer = parseAnswer(shown[1] as string, at);
      stream = undefined;
      continue;
    }
    const streamStart = /^#\s*(stdout|stderr):\s?(.*)$/.exec(line);
    if (streamStart) {
      if (!last) throw new Error(`README line ${at}: "# ${streamStart[1]}:" without a command above it`);
      stream = [streamStart[2] as string];
      last.streams[streamStart[1] as 'stdout' | 'stderr'] = stream;
      continue;
    }
    if (stream && /^#\s{2,}\S/.test(line)) {
      stream.push(line.replace(/^#\s+/, ''));
      continue;
    }
    stream = undefined;
    if (line.startsWith('#')) continue; // prose
    // A command: joined while a quote is open or the line ends in a backslash.
    let command = raw;
    while ((scan(command).open || /\\$/.test(command)) && i + 1 < lines.length) command += `\n${lines[++i]}`;
    const { commentAt } = scan(command);
    const note = commentAt >= 0 ? command.slice(commentAt + 1).trim() : '';
    if (commentAt >= 0) command = command.slice(0, commentAt);
    steps.push({ line: at, command: command.trim(), note, streams: {} });
  }
  return steps;
}

// ── shown answers ───────────────────────────────────────────────────────────────────────────────

export type Pattern =
  | { kind: 'any' }
  | { kind: 'string'; text: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'object'; members: [string, Pattern][]; rest: boolean }
  | { kind: 'array'; items: Pattern[]; rest: boolean };

function parseAnswer(text: string, at: number): NonNullable<Step['answer']> {
  const status = /^(\d{3})\b\s*/.exec(text);
  const rest = status ? text.slice(status[0].length) : text;
  if (rest === '' && status) return { status: Number(status[1]), body: null, text };
  const parser = new ElidedJson(rest, at);
  const body = parser.value();
  parser.end();
  return { status: status ? Number(status[1]) : null, body, text };
}

/** JSON with `…` elisions (see the top of this file). */
class ElidedJson {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly at: number,
  ) {}

  private fail(what: string): never {
    throw new Error(
      `README line ${this.at}: ${what} at column ${this.i + 1} of the shown answer: ${this.text}`,
    );
  }
  private ws() {
    while (/\s/.test(this.text[this.i] ?? '')) this.i++;
  }
  private eat(c: string): boolean {
    this.ws();
    if (this.text[this.i] !== c) return false;
    this.i++;
    return true;
  }

  /** After the value only an annotation may follow (`← copy "key" now`). */
  end() {
    this.ws();
    if (this.i < this.text.length && this.text[this.i] !== '←') this.fail('unexpected text');
  }

  value(): Pattern {
    this.ws();
    const c = this.text[this.i];
    if (c === '…') {
      this.i++;
      return { kind: 'any' };
    }
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const text = this.string();
      return text.includes('…') ? { kind: 'string', text } : { kind: 'literal', value: text };
    }
    const literal = /^(true|false|null|-?\d+(\.\d+)?)/.exec(this.text.slice(this.i));
    if (!literal) this.fail('expected a value');
    this.i += (literal[0] as string).length;
    return { kind: 'literal', value: JSON.parse(literal[0] as string) };
  }

  private string(): string {
    const start = this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"')
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    if (this.text[this.i] !== '"') this.fail('unterminated string');
    this.i++;
    return JSON.parse(this.text.slice(start, this.i));
  }

  private object(): Pattern {
    this.i++; // {
    const members: [string, Pattern][] = [];
    let rest = false;
    if (this.eat('}')) return { kind: 'object', members, rest };
    do {
      if (this.eat('…')) {
        rest = true;
        continue;
      }
      this.ws();
      if (this.text[this.i] !== '"') this.fail('expected a member name');
      const name = this.string();
      if (!this.eat(':')) this.fail('expected ":"');
      members.push([name, this.value()]);
    } while (this.eat(','));
    if (!this.eat('}')) this.fail('expected "}"');
    return { kind: 'object', members, rest };
  }

  private array(): Pattern {
    this.i++; // [
    const items: Pattern[] = [];
    let rest = false;
    if (this.eat(']')) return { kind: 'array', items, rest };
    do {
      if (this.eat('…')) rest = true;
      else items.push(this.value());
    } while (this.eat(','));
    if (!this.eat(']')) this.fail('expected "]"');
    return { kind: 'array', items, rest };
  }
}

/** Where `actual` differs from what the README shows (empty: it matches). */
export function mismatches(pattern: Pattern, actual: unknown, at = '$'): string[] {
  switch (pattern.kind) {
    case 'any':
      return [];
    case 'literal':
      return JSON.stringify(actual) === JSON.stringify(pattern.value)
        ? []
        : [`${at}: README shows ${JSON.stringify(pattern.value)}, got ${JSON.stringify(actual)}`];
    case 'string': {
      const shape = new RegExp(`^${pattern.text.split('…').map(escapeRegExp).join('[^]*')}$`);
      return typeof actual === 'string' && shape.test(actual)
        ? []
        : [`${at}: README shows ${JSON.stringify(pattern.text)}, got ${JSON.stringify(actual)}`];
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${at}: README shows an array, got ${JSON.stringify(actual)}`];
      if (pattern.items.length === 0 && pattern.rest) return [];
      const count = pattern.rest
        ? actual.length >= pattern.items.length
        : actual.length === pattern.items.length;
      if (!count) return [`${at}: README shows ${pattern.items.length} element(s), got ${actual.length}`];
      return pattern.items.flatMap((item, index) => mismatches(item, actual[index], `${at}[${index}]`));
    }
    case 'object': {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
        return [`${at}: README shows an object, got ${JSON.stringify(actual)}`];
      const record = actual as Record<string, unknown>;
      const problems = pattern.members.flatMap(([name, member]) =>
        name in record ? mismatches(member, record[name], `${at}.${name}`) : [`${at}.${name}: missing`],
      );
      if (!pattern.rest) {
        const shown = new Set(pattern.members.map(([name]) => name));
        for (const name of Object.keys(record))
          if (!shown.has(name)) problems.push(`${at}.${name}: not shown in the README (add it, or "…")`);
      }
      return problems;
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
