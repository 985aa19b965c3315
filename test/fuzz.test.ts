// Property-based robustness of every route in the OpenAPI document (public, user-level and tenant
// routes alike), authenticated as a real owner: malformed bodies, path params and query strings must
// always answer < 500, every 4xx must be an RFC 9457 problem (`type, title, status, detail, code`), and
// no response may carry a stack trace. Per route there are deterministic "poison" matrices (every body
// field, path param and query param × a list of nasty values) and a bounded fast-check run.
//
// Valid-looking fuzzed requests may really change state (delete the org, archive it, demote the
// owner…): after any successful write the fixture is checked and repaired before the next request.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../packages/server/src/modules/auth/service.ts';
import { addMember, newUser, PASSWORD, startTestServer, type TestUser } from './harness.ts';
import {
  isUuidSchema,
  type JsonSchema,
  minimalValue,
  type OpenApiDocument,
  type OpenApiParameter,
  type Operation,
  operationsOf,
} from './openapi-operations.ts';
import {
  base64url,
  deepArray,
  deepObject,
  EDGE_DATES,
  encode,
  FIELD_POISONS,
  PATH_POISONS,
  QUERY_POISONS,
  RawJson,
  RealId,
  serialize,
  violation,
} from './poisons.ts';

// Poison values, their serialisation and the contract invariant live in ./poisons.ts (shared with
// the process-level probe, test/http-probe.test.ts).

// ── server and fixture ──────────────────────────────────────────────────────────────────────────

const ADMIN_EMAIL = `fuzz-owner-${randomBytes(4).toString('hex')}@example.com`;
// The fuzzing owner is also a platform admin, so suspend/restore are reachable too. Failed logins per
// IP are unthrottled so that the fixture can always sign in again (per-account limits stay on).
const server = await startTestServer({
  ORGPLANE_PLATFORM_ADMIN_EMAILS: ADMIN_EMAIL,
  ORGPLANE_LOGIN_IP_LIMIT_MAX: '1000000',
});
const operations = operationsOf(
  (await server.request('GET', '/api/v1/openapi.json')).body as OpenApiDocument,
);

afterAll(async () => {
  await server?.close();
});

interface Fixture {
  ownerId: string;
  token: string;
  /** org_id, workspace_id, environment_id, user_id (a plain member). */
  ids: Record<string, string>;
}

let fixture: Fixture;
let member: TestUser;
/** A user whose real credentials the login/refresh fuzzing may use (and lock out). */
let loginTarget: TestUser;
/** Set after a successful write: the fixture may have changed and is checked before the next request. */
let dirty = false;

async function must(
  method: string,
  url: string,
  options: Parameters<typeof server.request>[2],
  status: number,
) {
  const response = await server.request(method, url, options);
  if (response.status !== status) {
    throw new Error(`fixture: ${method} ${url} → ${response.status} ${response.text.slice(0, 300)}`);
  }
  return response.body;
}

async function createWorkspace() {
  const ws = await must(
    'POST',
    `/api/v1/orgs/${fixture.ids.org_id}/workspaces`,
    { token: fixture.token, body: { name: 'Fuzz workspace' } },
    201,
  );
  fixture.ids.workspace_id = ws.id;
}

async function createEnvironment() {
  const env = await must(
    'POST',
    `/api/v1/orgs/${fixture.ids.org_id}/workspaces/${fixture.ids.workspace_id}/environments`,
    {
      token: fixture.token,
      body: {
        name: 'Fuzz env',
        slug: `fuzz-${randomBytes(3).toString('hex')}`,
        tier: 'dev',
        deployment_host: 'aws',
        cloud_credentials: { key: 'secret' },
      },
    },
    201,
  );
  fixture.ids.environment_id = env.id;
}

/** Puts the fixture back: a valid owner token acting in an active org with a workspace, environment and member. */
async function repairFixture() {
  const org = () => fixture.ids.org_id as string;
  let whoami = await server.request('GET', '/api/v1/auth/whoami', { token: fixture.token });
  if (whoami.status === 401) {
    const login = await must(
      'POST',
      '/api/v1/auth/login',
      { body: { email: ADMIN_EMAIL, password: PASSWORD } },
      200,
    );
    fixture.token = login.access_token;
    whoami = await server.request('GET', '/api/v1/auth/whoami', { token: fixture.token });
  }
  if (whoami.body?.organization?.id !== org() || whoami.body?.role !== 'owner') {
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      token: fixture.token,
      body: { org_id: org() },
    });
    if (switched.status === 200) fixture.token = switched.body.access_token;
    whoami = await server.request('GET', '/api/v1/auth/whoami', { token: fixture.token });
  }
  if (whoami.body?.organization?.id !== org() || whoami.body?.role !== 'owner') {
    // Deleted, left, or demoted: start over in a new org.
    const created = await must(
      'POST',
      '/api/v1/orgs',
      { token: fixture.token, body: { name: 'Fuzz org' } },
      201,
    );
    fixture.ids.org_id = created.id;
    const switched = await must(
      'POST',
      '/api/v1/auth/switch-org',
      { token: fixture.token, body: { org_id: created.id } },
      200,
    );
    fixture.token = switched.access_token;
    await createWorkspace();
    await createEnvironment();
  }
  const status = (await must('GET', `/api/v1/orgs/${org()}`, { token: fixture.token }, 200)).status;
  if (status !== 'active') await must('POST', `/api/v1/orgs/${org()}/restore`, { token: fixture.token }, 200);
  const ws = `/api/v1/orgs/${org()}/workspaces/${fixture.ids.workspace_id}`;
  if ((await server.request('GET', ws, { token: fixture.token })).status !== 200) await createWorkspace();
  const env = `/api/v1/orgs/${org()}/workspaces/${fixture.ids.workspace_id}/environments/${fixture.ids.environment_id}`;
  if ((await server.request('GET', env, { token: fixture.token })).status !== 200) await createEnvironment();
  const memberUrl = `/api/v1/orgs/${org()}/members/${member.userId}`;
  if ((await server.request('GET', memberUrl, { token: fixture.token })).status !== 200) {
    await addMember(server, org(), member.userId, 'member');
  }
}

async function ensureFixture() {
  if (!dirty) return;
  await repairFixture();
  dirty = false;
}

beforeAll(async () => {
  // A platform-admin address cannot sign up over HTTP; the server CLI's createAccount makes it.
  const signup = await createAccount(
    server.deps,
    { ip: 'server-cli', requestId: 'fuzz-setup', userAgent: null },
    { email: ADMIN_EMAIL, password: PASSWORD, name: 'Fuzz owner' },
    { createdOnServer: true },
  );
  const login = await must(
    'POST',
    '/api/v1/auth/login',
    { body: { email: ADMIN_EMAIL, password: PASSWORD } },
    200,
  );
  member = await newUser(server, 'fuzz-member');
  loginTarget = await newUser(server, 'fuzz-login');
  fixture = {
    ownerId: signup.user.id,
    token: login.access_token,
    ids: { org_id: signup.organization.id, user_id: member.userId },
  };
  await addMember(server, fixture.ids.org_id!, member.userId, 'member');
  await createWorkspace();
  await createEnvironment();
});

// ── sending ─────────────────────────────────────────────────────────────────────────────────────

type ParamChoice = { kind: 'real' } | { kind: 'other'; name: string } | { kind: 'raw'; value: string };

interface FuzzRequest {
  params: Record<string, ParamChoice>;
  query: [string, string][];
  /** undefined: no body. */
  body?: unknown;
  contentType?: string;
  /** Replaces the owner's credential (absent: the owner's access token). */
  credential?: Record<string, string>;
}

function realValue(op: Operation, name: string): string {
  const enumValue = op.pathParams.find((p) => p.name === name)?.schema?.enum?.[0];
  return fixture.ids[name] ?? (enumValue === undefined ? randomUUID() : String(enumValue));
}

function urlOf(op: Operation, request: FuzzRequest): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const choice = request.params[name] ?? { kind: 'real' };
    if (choice.kind === 'raw') return choice.value;
    const value = choice.kind === 'other' ? (allIds()[choice.name] ?? randomUUID()) : realValue(op, name);
    return encodeURIComponent(value);
  });
  const query = request.query.map(([k, v]) => `${k}=${v}`).join('&');
  return query ? `${path}?${query}` : path;
}

const allIds = (): Record<string, string> => ({ ...fixture.ids, owner_id: fixture.ownerId });

async function send(op: Operation, request: FuzzRequest) {
  await ensureFixture();
  const url = urlOf(op, request);
  const payload = request.body === undefined ? undefined : serialize(request.body, fixture.ids);
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
  const credential = request.credential ?? { authorization: `Bearer ${fixture.token}` };
  const response = await server.request(op.method, url, {
    body: payload,
    headers: { ...headers, ...credential },
  });
  if (op.method !== 'GET' && response.status < 300) dirty = true;
  if (response.status >= 500) dirty = true;
  const problem = violation(response);
  const shown =
    payload === undefined ? '' : ` ${payload.length > 300 ? `${payload.slice(0, 300)}…` : payload}`;
  return {
    response,
    problem: problem
      ? `${op.method} ${url.length > 300 ? `${url.slice(0, 300)}…` : url}${shown} → ${problem}: ${response.text.slice(0, 400)}`
      : null,
    /** The kind of outcome, to report each kind of violation once. */
    kind: `${response.status} ${String(response.headers['content-type'] ?? '').split(';')[0]} ${response.body?.code ?? ''}`,
  };
}

/** Contract violations found by one test, one example per kind. */
class Violations {
  private readonly kinds = new Map<string, { example: string; count: number }>();
  add(kind: string, example: string | null) {
    if (example === null) return;
    const seen = this.kinds.get(kind);
    if (seen) seen.count++;
    else this.kinds.set(kind, { example, count: 1 });
  }
  list(): string[] {
    return [...this.kinds.values()].map(({ example, count }) =>
      count > 1 ? `${example} (and ${count - 1} more like it)` : example,
    );
  }
  /** Fails with every violation spelled out (an array diff would be truncated). */
  expectNone(hint = '') {
    const list = this.list();
    if (list.length) {
      throw new Error(
        `${list.length} contract violation(s)${hint}:\n${list.map((v) => `  - ${v}`).join('\n')}`,
      );
    }
  }
}

// ── valid bodies and arbitraries ────────────────────────────────────────────────────────────────

/** Field-name hints: real values that let a fuzzed body reach past validation. */
function knownValues(name: string): unknown[] {
  switch (name) {
    case 'email':
      return [loginTarget.email];
    case 'password':
      return [PASSWORD];
    case 'refresh_token':
      return [loginTarget.refreshToken];
    default:
      return /_id$/.test(name) ? [new RealId(name)] : [];
  }
}

/** The OpenAPI example (or a minimal body), with id fields pointing at the fixture. */
function exampleBody(op: Operation): Record<string, unknown> | unknown {
  if (!op.body) return undefined;
  const base = op.body.example ?? minimalValue(op.body.schema, (name) => new RealId(name));
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return base;
  const body: Record<string, unknown> = structuredClone(base as Record<string, unknown>);
  for (const [name, schema] of Object.entries(op.body.schema.properties ?? {})) {
    if (name in body && isUuidSchema(schema)) body[name] = new RealId(name);
  }
  return body;
}

const nulString = fc
  .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
  .map(([a, b]) => `${a}\u0000${b}`);
const nastyString = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  nulString,
  fc.constantFrom(
    '😀',
    '\u202e',
    '\ufeff',
    '\ud800',
    'e\u0301',
    '',
    ' ',
    "'",
    '"',
    '\\',
    '%',
    '\u2028',
    ...EDGE_DATES,
  ),
);
const deepValue = fc
  .tuple(fc.integer({ min: 10, max: 20_000 }), fc.boolean())
  .map(([depth, array]) => new RawJson(array ? deepArray(depth) : deepObject(depth)));
const hugeString = fc
  .integer({ min: 1_000, max: 600_000 })
  .map((n) => new RawJson(JSON.stringify('x'.repeat(n))));
const jsonObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), deepValue, { minKeys: 1, maxKeys: 1 }),
);
/** Anything that does not belong in a field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  nastyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  jsonObject,
  deepValue,
  hugeString,
  fc.constantFrom(...FIELD_POISONS.map(([, v]) => v)),
);

function stringArb(schema: JsonSchema, name: string): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [];
  if (isUuidSchema(schema)) options.push(fc.constant(new RealId(name)), fc.uuid());
  if (schema.format === 'email') options.push(fc.emailAddress());
  if (schema.format === 'date-time') {
    options.push(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(...EDGE_DATES),
    );
  }
  if (schema.pattern) {
    try {
      const matching = fc.stringMatching(new RegExp(schema.pattern), {
        size: 'small',
      });
      fc.sample(matching, 1);
      options.push(matching);
    } catch {
      // A pattern fast-check cannot generate from: the examples and plain strings below will do.
    }
  }
  if (schema.examples?.length) options.push(fc.constantFrom(...schema.examples));
  const known = knownValues(name);
  if (known.length) options.push(fc.constantFrom(...known));
  options.push(
    fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 60, 60) }),
    nastyString,
  );
  return fc.oneof(...options);
}

/** Values that mostly conform to the schema (so the request reaches the service), with nasty strings. */
function conformingArb(schema: JsonSchema, name = ''): fc.Arbitrary<unknown> {
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches?.length) return fc.oneof(...branches.map((b) => conformingArb(b, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      if (!schema.properties) return jsonObject;
      const required = new Set(schema.required ?? []);
      const fields = Object.fromEntries(
        Object.entries(schema.properties).map(([key, s]) => [key, conformingArb(s, key)]),
      );
      return fc.record(fields, { requiredKeys: [...required].filter((k) => k in fields) });
    }
    case 'string':
      return stringArb(schema, name);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(conformingArb(schema.items ?? {}, name), { maxLength: 4 });
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

const contentTypes = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'application/merge-patch+json',
      'application/problem+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      ';;;',
      '',
    ),
  },
);

function bodyArb(op: Operation): fc.Arbitrary<unknown> {
  const anyBody = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.json({ maxDepth: 3 }).map((text) => new RawJson(text)),
    fc.string({ maxLength: 40 }).map((text) => new RawJson(text)),
    deepValue,
    fc.constant(new RawJson(JSON.stringify({ x: 'y'.repeat(1_100_000) }))),
  );
  if (!op.body) return fc.option(anyBody, { nil: undefined, freq: 3 });
  const schema = op.body.schema;
  const example = exampleBody(op);
  const base = typeof example === 'object' && example !== null ? (example as Record<string, unknown>) : {};
  const fields = [...new Set([...Object.keys(schema.properties ?? {}), ...Object.keys(base)])];
  const mutated = fields.length
    ? fc.tuple(fc.constantFrom(...fields), wrongValue).map(([field, value]) => ({ ...base, [field]: value }))
    : wrongValue;
  const extra = fc
    .tuple(fc.string({ maxLength: 20 }), wrongValue)
    .map(([field, value]) => ({ ...base, [field || 'extra']: value }));
  return fc.oneof(
    { weight: 4, arbitrary: conformingArb(schema) },
    { weight: 1, arbitrary: fc.constant(example) },
    { weight: 4, arbitrary: mutated },
    { weight: 2, arbitrary: extra },
    { weight: 2, arbitrary: anyBody },
  );
}

function queryValueArb(param: OpenApiParameter): fc.Arbitrary<string> {
  const schema = param.schema ?? {};
  const options: fc.Arbitrary<string>[] = [fc.constantFrom(...QUERY_POISONS), nastyString.map(encode)];
  if (schema.type === 'integer' || param.name === 'limit') {
    options.push(
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.double().map((n) => encode(String(n))),
    );
  }
  if (param.name === 'cursor') {
    options.push(
      fc.uuid().map((u) => base64url(`v1:${u}`)),
      fc.string({ maxLength: 50 }).map((s) => base64url(`v1:${s}`)),
      fc.string({ maxLength: 300 }).map(encode),
    );
  }
  if (schema.format === 'date-time') {
    options.push(
      fc.date({ noInvalidDate: true }).map((d) => encode(d.toISOString())),
      fc.constantFrom(...EDGE_DATES.map(encode)),
    );
  }
  if (schema.enum?.length) options.push(fc.constantFrom(...schema.enum.map((v) => encode(String(v)))));
  if (/_id$/.test(param.name)) options.push(fc.constantFrom(...Object.values(allIds())), fc.uuid());
  return fc.oneof(...options);
}

function queryArb(op: Operation): fc.Arbitrary<[string, string][]> {
  const declared = [...op.queryParams];
  for (const name of ['limit', 'cursor']) {
    if (!declared.some((p) => p.name === name)) declared.push({ name, in: 'query', schema: {} });
  }
  const pairs = declared.map((p) =>
    fc.option(
      queryValueArb(p).map((value) => [p.name, value] as [string, string]),
      { nil: undefined, freq: 2 },
    ),
  );
  const extras = fc.array(
    fc.tuple(nastyString.map(encode), nastyString.map(encode)).map((pair) => pair as [string, string]),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...pairs), extras, fc.boolean()).map(([chosen, extra, duplicate]) => {
    const list = chosen.filter((p): p is [string, string] => p !== undefined);
    if (duplicate && list[0]) list.push(list[0]);
    return [...list, ...extra];
  });
}

function paramsArb(op: Operation): fc.Arbitrary<Record<string, ParamChoice>> {
  if (op.pathParams.length === 0) return fc.constant({});
  const one = fc.oneof(
    { weight: 4, arbitrary: fc.constant<ParamChoice>({ kind: 'real' }) },
    { weight: 2, arbitrary: fc.uuid().map<ParamChoice>((value) => ({ kind: 'raw', value })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('org_id', 'workspace_id', 'environment_id', 'user_id', 'owner_id')
        .map<ParamChoice>((name) => ({ kind: 'other', name })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...PATH_POISONS).map<ParamChoice>((value) => ({ kind: 'raw', value })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: 'binary', minLength: 1, maxLength: 40 })
        .map<ParamChoice>((s) => ({ kind: 'raw', value: encode(s) })),
    },
  );
  const allReal = fc.constant(
    Object.fromEntries(op.pathParams.map((p) => [p.name, { kind: 'real' } as ParamChoice])),
  );
  const mixed = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, one])));
  return fc.oneof({ weight: 3, arbitrary: allReal }, { weight: 2, arbitrary: mixed });
}

/** Mostly the owner's token; sometimes a missing, malformed or forged credential. */
const credentialArb = fc.option(
  fc.oneof(
    fc.constant({}),
    fc
      .constantFrom(
        'Basic Zm9vOmJhcg==',
        'Bearer',
        'Bearer ',
        'Bearer a b',
        'bearer x.y.z',
        `Bearer ${base64url('{"alg":"none","typ":"JWT"}')}.${base64url('{"sub":"x","org_id":"y"}')}.`,
        `Bearer fl_${'A'.repeat(43)}`,
      )
      .map((authorization) => ({ authorization })),
    nastyString.map((value) => ({ authorization: `Bearer ${encode(value)}` })),
    fc.constantFrom('', 'fl_', 'fl_garbage', 'x'.repeat(5000)).map((key) => ({ 'x-api-key': key })),
  ),
  { nil: undefined, freq: 8 },
);

const requestArb = (op: Operation): fc.Arbitrary<FuzzRequest> =>
  fc.record({
    params: paramsArb(op),
    query: queryArb(op),
    body: bodyArb(op),
    contentType: contentTypes,
    credential: credentialArb,
  });

/** A unique slug, so that creating with the example body is not merely a 409 every time. */
function fresh(body: Record<string, unknown>): Record<string, unknown> {
  return typeof body.slug === 'string'
    ? { ...body, slug: `${body.slug}-${randomBytes(3).toString('hex')}` }
    : body;
}

// ── tests ───────────────────────────────────────────────────────────────────────────────────────

const NUM_RUNS = 20;
/** Each route's random run uses SEED + its index; set FUZZ_SEED to replay a failing run. */
const SEED = Number(process.env.FUZZ_SEED) || (Date.now() ^ Math.floor(Math.random() * 2 ** 30)) | 0;
const routeName = (op: Operation) => `${op.method} ${op.path}`;

describe('the OpenAPI document', () => {
  it('lists the routes to fuzz', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
    expect(operations.map(routeName)).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/signup', 'POST /api/v1/auth/login', 'GET /api/v1/orgs']),
    );
  });
});

describe.each(operations.map((op, index) => [routeName(op), op, index] as const))(
  '%s',
  (_name, op, index) => {
    const bodyFields = op.body
      ? [...new Set([...Object.keys(op.body.schema.properties ?? {}), 'unknown_field'])]
      : [];

    if (bodyFields.length) {
      it('survives a poisoned value in every body field', async () => {
        const example = exampleBody(op);
        const base =
          typeof example === 'object' && example !== null ? (example as Record<string, unknown>) : {};
        const violations = new Violations();
        for (const field of bodyFields) {
          for (const [label, poison] of FIELD_POISONS) {
            const { problem, kind } = await send(op, {
              params: {},
              query: [],
              body: { ...fresh(base), [field]: poison },
            });
            violations.add(`${field} ${label} ${kind}`, problem);
          }
        }
        violations.expectNone();
      }, 60_000);
    }

    if (op.pathParams.length) {
      it('survives a malformed or foreign value in every path param', async () => {
        const violations = new Violations();
        for (const param of op.pathParams) {
          const values: ParamChoice[] = [
            ...PATH_POISONS.map((value): ParamChoice => ({ kind: 'raw', value })),
            ...['org_id', 'workspace_id', 'environment_id', 'user_id', 'owner_id']
              .filter((name) => name !== param.name)
              .map((name): ParamChoice => ({ kind: 'other', name })),
            { kind: 'raw', value: realValue(op, param.name).toUpperCase() },
          ];
          for (const choice of values) {
            const { problem, kind } = await send(op, {
              params: { [param.name]: choice },
              query: [],
              body: exampleBody(op),
            });
            violations.add(kind, problem);
          }
        }
        violations.expectNone();
      }, 60_000);
    }

    if (op.queryParams.length) {
      it('survives a malformed value in every query param', async () => {
        const violations = new Violations();
        for (const param of op.queryParams) {
          for (const value of [...QUERY_POISONS, `1&${param.name}=2`]) {
            const { problem, kind } = await send(op, { params: {}, query: [[param.name, value]] });
            violations.add(`${param.name} ${value} ${kind}`, problem);
          }
        }
        violations.expectNone();
      }, 60_000);
    }

    if (op.method !== 'GET') {
      it('answers 400 invalid_json to malformed JSON', async () => {
        const texts = [
          '{',
          '{"a":',
          'nope',
          '[1,]',
          "{'a':1}",
          '{"a":1}}',
          'NaN',
          '\u0000',
          '{"a":"\u0000',
          '""x',
        ];
        const check = async (text: string) => {
          const { response, problem } = await send(op, { params: {}, query: [], body: new RawJson(text) });
          if (problem) throw new Error(problem);
          if (response.status !== 400 || response.body?.code !== 'invalid_json') {
            throw new Error(`${JSON.stringify(text)} → ${response.status} ${response.text.slice(0, 200)}`);
          }
        };
        for (const text of texts) await check(text);
        await fc.assert(
          fc.asyncProperty(
            // An empty body is no body (clients send Content-Type on body-less requests): not JSON to parse.
            fc.string({ maxLength: 40 }).filter((text) => {
              if (text === '') return false;
              try {
                JSON.parse(text);
                return false;
              } catch {
                return true;
              }
            }),
            check,
          ),
          { numRuns: 10 },
        );
      }, 60_000);
    }

    it(`survives ${NUM_RUNS} random requests (fast-check)`, async () => {
      // Every run is checked and each kind of violation reported once, rather than stopping (and
      // shrinking) at the first: one framework-level bug must not hide the others behind it.
      const violations = new Violations();
      await fc.assert(
        fc.asyncProperty(requestArb(op), async (request) => {
          const { problem, kind } = await send(op, request);
          violations.add(kind, problem);
        }),
        {
          numRuns: NUM_RUNS,
          seed: SEED + index,
          interruptAfterTimeLimit: 30_000,
          markInterruptAsFailure: false,
        },
      );
      violations.expectNone(` (replay with FUZZ_SEED=${SEED})`);
    }, 60_000);
  },
);

describe('after fuzzing', () => {
  it('the server still serves its owner', async () => {
    dirty = true;
    await ensureFixture();
    const response = await server.request('GET', `/api/v1/orgs/${fixture.ids.org_id}/workspaces`, {
      token: fixture.token,
    });
    expect(response.status).toBe(200);
  });
});
