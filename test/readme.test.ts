// The README is run, not just read: its ```sh examples, in order, with curl and npm for real,
// against a server started the way it says (`npm start`'s command on a fresh embedded data
// directory, or — in the `postgres` project — on a fresh schema), and its ```js example with
// openid-client and a real browser. Every `# → …` answer shown must be what the server answers.
//
// What the README leaves to the reader is written down here, explicitly:
//   - SERVER_URLS: the README's stand-ins for "your server", replaced by the started one's URL;
//   - TAKEN: `NAME=…` lines ("copy this from the answer above"), each with the request it comes
//     from and the field; the value must also have the start shown (`TOKEN=eyJ…`);
//   - PLACEHOLDERS: `…` values inside a command (`--token fl_clt_…`), each with where it comes from;
//   - SUPPLIED: variables the README uses without setting them (`$ADMIN_PASSWORD`);
//   - NOT_RUNNABLE: steps this test cannot run, each with the reason; the list must be exact.
// Any other step, variable or placeholder fails the test, saying it does not know how to run it.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Block, mismatches, readmeBlocks, type Step, shellSteps } from './readme-doc.ts';
import { approveCliLogin, runOpenidSnippet, type Shell, shell, startCliLogin } from './readme-run.ts';
import {
  killStartedServers,
  type ProcessDatabase,
  processDatabase,
  type ServerProcess,
  startServerProcess,
} from './server-process.ts';

const SERVER_URLS = ['http://localhost:8080', 'https://orgplane.example.com'];

const TAKEN: Record<string, { from: RegExp; field: string }> = {
  TOKEN: { from: /-X POST \$API\/auth\/login /, field: 'access_token' },
  ORG: { from: /-X POST \$API\/auth\/signup /, field: 'organization.id' },
  WS: { from: /-X POST \$API\/orgs\/\$ORG\/workspaces /, field: 'id' },
  ALPHA: { from: /-X POST \$API\/orgs -H/, field: 'id' },
  KEY: { from: /-X POST \$API\/orgs\/\$ORG\/api-keys /, field: 'key' },
  KEY_ID: { from: /-X POST \$API\/orgs\/\$ORG\/api-keys /, field: 'id' },
  SERVICE: { from: /-X POST \$API\/orgs\/\$ORG\/workspaces\/\$WS\/hosted-services /, field: 'id' },
  CLIENT_ID: { from: /-X POST \$API\/orgs\/\$ORG\/oauth-clients /, field: 'client_id' },
  CLIENT_SECRET: { from: /-X POST \$API\/orgs\/\$ORG\/oauth-clients /, field: 'client_secret' },
};

/** A fixed value, or null: filled by the step's handler (said beside it). */
const PLACEHOLDERS: Record<string, string | null> = {
  // The one-time token of a CLI login request, approved through the API as Jane.
  'fl_clt_…': null,
  // A cloud service-account key: any string is sealed alike.
  '"key":"…"': '"key":"a service-account key"',
};
const FIXED = Object.fromEntries(
  Object.entries(PLACEHOLDERS).filter((entry): entry is [string, string] => entry[1] !== null),
);

const SUPPLIED: Record<string, string> = { ADMIN_PASSWORD: 'the admins passphrase, long enough 42' };
/** The production section's `export ORGPLANE_PLATFORM_ADMIN_EMAILS=…`, which create-user relies on. */
const ADMIN_EMAILS = 'ops@example.com';

const NOT_RUNNABLE: Record<string, string> = {
  'npm ci && npm start': 'installs and serves on port 8080: this test starts npm start’s command itself',
  'npm ci && npm test': 'this test is part of npm test',
  'export DATABASE_URL=postgres://orgplane:…@db.internal:5432/orgplane':
    'a real PostgreSQL host; the postgres project runs this test on TEST_DATABASE_URL instead',
  'export ORGPLANE_MASTER_KEY=$(openssl rand -base64 32)': 'part of the production set-up above',
  'export ORGPLANE_PUBLIC_URL=https://auth.example.com': 'a real domain with TLS in front',
  'export ORGPLANE_TRUST_PROXY=true': 'needs a load balancer in front',
  'export ORGPLANE_PLATFORM_ADMIN_EMAILS=ops@example.com':
    'given to the server and create-user here (ADMIN_EMAILS)',
  'npm test': 'the test suite itself',
  'TEST_DATABASE_URL=postgres://root@127.0.0.1:5432/test npm test': 'the test suite itself',
  'npx vitest run packages/server/src/modules/auth': 'the test suite itself',
  'npm run lint / npm run format':
    'two commands in one line (lint is part of npm test; format rewrites files)',
  'npm run bench': 'minutes of load on a shared machine; bench/ has its own checks',
};

const databases: ProcessDatabase[] = [];
const scratch: string[] = [];
afterAll(async () => {
  killStartedServers();
  for (const database of databases) await database.drop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** One answer a step got: for TAKEN lines and the steps after it. */
interface Ran {
  step: Step;
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: README answers are read field by field.
  body: any;
}

function field(body: unknown, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
}

describe('README.md, run as a newcomer would', () => {
  it('every example answers what the README shows', async () => {
    const database = await processDatabase();
    databases.push(database);
    // ORGPLANE_CONFIG_DIR for `orgplane login`: an orgplane/ directory, like ~/.config/orgplane.
    const configHome = mkdtempSync(path.join(tmpdir(), 'orgplane-readme-cli-'));
    scratch.push(configHome);
    const configDir = path.join(configHome, 'orgplane');
    // HOST unset as in the README (every interface), so the examples' `localhost` reaches it.
    const serverEnv = { ...database.env, ORGPLANE_PLATFORM_ADMIN_EMAILS: ADMIN_EMAILS, HOST: '' };
    let server: ServerProcess | null = await startServerProcess(serverEnv);
    // The server's own default public URL (http://localhost:$PORT), the README's address.
    const base = `http://localhost:${server.port}`;
    const vars: Record<string, string> = { ...SUPPLIED };
    const ran: Ran[] = [];
    const skipped: string[] = [];
    const sectionsRun = new Set<string>();
    const jane = { email: '', password: '' };
    const local = (text: string) => SERVER_URLS.reduce((out, url) => out.replaceAll(url, base), text);
    const run: Shell = (command, options = {}) =>
      shell(local(command), { ...options, env: { ...vars, ...options.env } });
    const where = (step: Step) => `README line ${step.line}: ${step.command.split('\n')[0]}`;

    /** The command with its `…` placeholders filled in, or a failure naming the unknown one. */
    const filled = (step: Step, values: Record<string, string>) => {
      let command = step.command;
      for (const [placeholder, value] of Object.entries({ ...FIXED, ...values }))
        command = command.replaceAll(placeholder, value);
      const unknown = /\S*…\S*|<[^>\n]+>/.exec(command);
      if (unknown)
        throw new Error(
          `${where(step)}: the test does not know what to put for "${unknown[0]}" (PLACEHOLDERS)`,
        );
      const missing = [...command.matchAll(/\$([A-Z_][A-Z0-9_]*)/g)]
        .map((match) => match[1] as string)
        .filter((name) => !(name in vars));
      if (missing.length) throw new Error(`${where(step)}: uses $${missing[0]}, which nothing above sets`);
      return command;
    };

    const runShellStep = async (step: Step) => {
      const command = filled(step, {});
      const signup = /\/auth\/signup /.test(command) && /-d '(\{[^']*\})'/.exec(command);
      if (signup) Object.assign(jane, JSON.parse(signup[1] as string));
      const result = await run(command);
      const { status, text } = result.http ?? { status: 0, text: '' };
      const context = `${where(step)}\n→ ${status} ${text}${result.stderr}`;
      expect(result.code, context).toBe(0);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const answer = step.answer;
      if (answer?.status) expect(status, context).toBe(answer.status);
      else expect(status >= 200 && status < 300, `${context}\n→ ${status}`).toBe(true);
      if (answer && !answer.body) expect(text, context).toBe('');
      if (answer?.body)
        expect(mismatches(answer.body, body), `${context}\nREADME: ${answer.text}`).toEqual([]);
      ran.push({ step, status, body });
    };

    const take = (step: Step, name: string, shown: string) => {
      const rule = TAKEN[name];
      if (!rule)
        throw new Error(
          `${where(step)}: the README takes $${name} from an answer, and TAKEN does not say which`,
        );
      const source = [...ran].reverse().find((r) => rule.from.test(r.step.command));
      if (!source)
        throw new Error(`${where(step)}: $${name} comes from a request the README has not made yet`);
      const value = field(source.body, rule.field);
      expect(typeof value, `${where(step)}: ${rule.field} of README line ${source.step.line}`).toBe('string');
      const start = shown.split('…')[0] as string;
      expect((value as string).startsWith(start), `${where(step)}: ${value} should start with ${start}`).toBe(
        true,
      );
      vars[name] = value as string;
    };

    const api = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${base}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${vars.TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      expect(response.ok, `${method} ${route}: ${response.status} ${text}`).toBe(true);
      return text ? JSON.parse(text) : undefined;
    };

    const runStep = async (step: Step) => {
      const command = step.command;
      // What is shown must be checked: answers under curl, output under the CLI.
      const curl = /^curl /.test(command);
      if (step.answer && !curl)
        throw new Error(`${where(step)}: a "# →" answer under a step that is not a curl request`);
      if ((step.streams.stdout || step.streams.stderr) && !/^npm run orgplane -- login /.test(command))
        throw new Error(
          `${where(step)}: "# stdout:"/"# stderr:" under a step the test does not check them for`,
        );
      if (command in NOT_RUNNABLE) {
        skipped.push(command);
        return;
      }
      const assignment = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(command);
      if (assignment) {
        const [, name, value] = assignment as unknown as [string, string, string];
        if (value.includes('…')) take(step, name, value);
        else vars[name] = local(value);
        return;
      }
      if (curl) return runShellStep(step);
      const login = /^npm run orgplane -- login /.test(command);
      if (login && command.includes('fl_clt_…')) {
        // The paste path: a request approved elsewhere hands over its one-time token.
        const request = await api('POST', '/auth/cli-login-requests', { client_name: 'readme-paste' });
        const approved = await api('POST', `/auth/cli-login-requests/${request.request_id}/token`, {
          secret: request.secret,
        });
        const result = await run(filled(step, { 'fl_clt_…': approved.token }), {
          env: { ORGPLANE_CONFIG_DIR: configDir },
        });
        expect(result.code, `${where(step)}\n${result.stderr}`).toBe(0);
        expectStreams(step, result, local);
        return;
      }
      if (login) {
        // The approving browser's part, done with the API as an app's own console would.
        await api('PATCH', '/me', { allow_cli_login_access: true });
        const result = await startCliLogin(run, filled(step, {}), configDir, (id, secret) =>
          approveCliLogin(api, id, secret),
        );
        expect(result.code, `${where(step)}\n${result.stderr}`).toBe(0);
        expectStreams(step, result, local);
        // Stored as the README says: directory 0700, file 0600, these fields.
        const file = path.join(configDir, 'credentials.json');
        expect(statSync(configDir).mode & 0o777).toBe(0o700);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const stored = JSON.parse(readFileSync(file, 'utf8'));
        expect(Object.keys(stored).sort()).toEqual(
          ['access_token', 'email', 'expires_at', 'org_id', 'refresh_token', 'url', 'user_id'].sort(),
        );
        expect(stored).toMatchObject({ url: base, email: jane.email, org_id: vars.ORG });
        return;
      }
      if (/^printf .*\| npm run orgplane -- create-user /.test(command)) {
        // "With the embedded database, stop the server first."
        if (!database.env.DATABASE_URL && server) {
          server.child.kill('SIGTERM');
          expect(await server.exited).toBe(0);
          server = null;
        }
        const result = await run(filled(step, {}), { env: { ...serverEnv } });
        expect(result.code, `${where(step)}\n${result.stdout}${result.stderr}`).toBe(0);
        expect(result.stdout).toContain(`created ${ADMIN_EMAILS}`);
        expect(result.stdout).toContain('a platform administrator');
        return;
      }
      throw new Error(
        `${where(step)}: the test does not know how to run this; teach test/readme.test.ts, or list it in NOT_RUNNABLE with the reason`,
      );
    };

    const runBlock = async (block: Block) => {
      if (block.lang === 'sh') {
        for (const step of shellSteps(block)) {
          const before = skipped.length;
          await runStep(step);
          if (skipped.length === before) sectionsRun.add(block.section);
        }
      } else if (block.lang === 'js') {
        sectionsRun.add(block.section);
        const whoami = await runOpenidSnippet(local(block.text), {
          clientId: vars.CLIENT_ID as string,
          clientSecret: vars.CLIENT_SECRET as string,
          // Jane is in two orgs now: she picks the one the client belongs to.
          user: { ...jane, orgId: vars.ORG as string },
          serverHost: 'localhost',
          scratch,
        });
        expect(whoami.email).toBe(jane.email);
        expect(whoami.organization.id).toBe(vars.ORG);
        expect([...whoami.scopes].sort()).toEqual(['read:org', 'read:workspaces']);
      } else {
        throw new Error(
          `README line ${block.line}: the test does not know how to run a \`\`\`${block.lang} block`,
        );
      }
    };

    for (const block of readmeBlocks()) await runBlock(block);
    // Exactly the steps listed as not runnable were skipped: none silently, none stale.
    // (`npm ci && npm start` is shown twice: the first lines and the production set-up.)
    expect([...new Set(skipped)].sort()).toEqual(Object.keys(NOT_RUNNABLE).sort());
    // Every section with examples ran some of them.
    expect([...sectionsRun]).toEqual([
      'A five-minute tour',
      'Machine credentials: API keys, service and deploy tokens',
      'Sign-in for other applications: OAuth 2.0 and OpenID Connect',
      'CLI login',
      'Running in production on PostgreSQL',
    ]);
    if (server) {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  }, 240_000);
});

/** The `# stdout:` / `# stderr:` lines shown under a step, line by line (npm's own banner aside). */
function expectStreams(
  step: Step,
  result: { stdout: string; stderr: string },
  local: (text: string) => string,
): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const shown = step.streams[name];
    if (!shown) continue;
    // `npm run` announces the script on stdout ("> orgplane@… orgplane", "> node …") first.
    const lines = result[name].split('\n').filter((line) => line !== '' && !line.startsWith('> '));
    expect(lines.length, `README line ${step.line}: ${name}\n${result[name]}`).toBe(shown.length);
    shown.forEach((text, index) => {
      const pattern = { kind: 'string' as const, text: local(text) };
      expect(mismatches(pattern, lines[index]), `README line ${step.line}: ${name}`).toEqual([]);
    });
  }
}
