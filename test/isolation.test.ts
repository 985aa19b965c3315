// Tenant isolation, for every route the server has. Routes are discovered from the OpenAPI document
// (cross-checked against Fastify's route table, so a route hidden from the document fails the suite),
// and every /api/v1/orgs/{org_id}/… route is attacked from other orgs:
//   a) the victim's org id in the path (with the victim's or the attacker's child ids) → 404;
//   b) the attacker's own org id with one or more of the victim's child ids → 404;
//   c) the victim's ids inside request bodies (switch-org, login, any `…_id` field) → 404;
//   d) afterwards, every row of the victim org in every table with an org_id column is unchanged.
// Plus: every tenant route declares a permission, and a viewer of the victim org gets 403 (not 404)
// where the role lacks the permission and 200 on the reads it holds.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  newUser,
  PASSWORD,
  startTestServer,
  type TestResponse,
  type TestServer,
  type TestUser,
  tokenFor,
} from './harness.ts';
import {
  type JsonSchema,
  minimalValue,
  type OpenApiDocument,
  type OpenApiParameter,
  type Operation,
  operationsOf,
} from './openapi-operations.ts';

// ── the OpenAPI document, read as data ──────────────────────────────────────────────────────────

const TENANT_PREFIX = '/api/v1/orgs/{org_id}';
/** A route that acts on one org: its path names `{org_id}`. */
const isTenant = (op: { path: string }) => op.path.includes('{org_id}');
const routeName = (op: { method: string; path: string }) => `${op.method} ${op.path}`;

/** Every (method, path) in Fastify's route table, from its printed radix tree. */
function registeredRoutes(tree: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2] ?? '');
    for (const method of match[3]?.split(', ') ?? []) {
      routes.push({ method, path: stack.join('').replace(/:(\w+)/g, '{$1}') });
    }
  }
  return routes;
}

const isIdSchema = (schema: JsonSchema | undefined): boolean =>
  !!schema &&
  (schema.format === 'uuid' || [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].some((s) => isIdSchema(s)));

/** Body fields that name another resource by id (`org_id`, `workspace_id`, …). */
function idFieldsOf(op: Operation): string[] {
  const properties = op.body?.schema.properties ?? {};
  return Object.entries(properties)
    .filter(([name, schema]) => isIdSchema(schema) || /_id$/.test(name))
    .map(([name]) => name);
}

// ── tenants ─────────────────────────────────────────────────────────────────────────────────────

interface Tenant {
  label: string;
  user: TestUser;
  /** Access token acting in the tenant's own org. */
  token: string;
  /** Path-parameter name → this tenant's ids for it (a member's user id, its workspace, …). */
  ids: Record<string, string[]>;
}

let server: TestServer;
let operations: Operation[];
let tenantOps: Operation[];

let victim: Tenant;
let victimSecondMember: TestUser;
let viewerToken: string;
/** Owner of a separate org. */
let attacker: Tenant;
/** Owner of a separate org who is also an admin of the victim org, but whose token acts in its own org. */
let doubleAgent: Tenant;

const tag = randomBytes(4).toString('hex');

async function expectStatus(response: TestResponse, status: number, what: string) {
  if (response.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${response.status} ${response.text}`);
  }
  return response.body;
}

async function makeTenant(label: string): Promise<Tenant> {
  const user = await newUser(server, label);
  const org = user.orgId;
  const workspace = await expectStatus(
    await server.request('POST', `/api/v1/orgs/${org}/workspaces`, {
      token: user.token,
      body: { name: `${label}-secret-workspace-${tag}`, description: `${label} only` },
    }),
    201,
    `${label} workspace`,
  );
  const environment = await expectStatus(
    await server.request('POST', `/api/v1/orgs/${org}/workspaces/${workspace.id}/environments`, {
      token: user.token,
      body: {
        name: `${label}-secret-env-${tag}`,
        slug: 'prod',
        tier: 'prod',
        deployment_host: 'cloudrun',
        execution_backend: { type: 'docker', cpu: 2 },
        cloud_credentials: { project: `${label}-project`, key: `${label}-private-key-${tag}` },
      },
    }),
    201,
    `${label} environment`,
  );
  expect(environment.has_cloud_credentials).toBe(true);
  return {
    label,
    user,
    token: user.token,
    ids: {
      org_id: [org],
      workspace_id: [workspace.id],
      environment_id: [environment.id],
      user_id: [user.userId],
    },
  };
}

/** Fills `path` with `ids` (each param's first id); query-free. */
function urlOf(op: Operation, ids: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const id = ids[name];
    if (id === undefined) throw new Error(`no id for {${name}} in ${routeName(op)}`);
    return encodeURIComponent(id);
  });
}

/** Path params that name a tenant's resource (not `org_id`, not a fixed enum such as a settings section). */
function childParams(op: Operation): OpenApiParameter[] {
  return op.pathParams.filter((p) => p.name !== 'org_id' && !p.schema?.enum?.length);
}

/** Fixed-value path params (enums): the same for every tenant. */
function fixedParams(op: Operation): Record<string, string> {
  return Object.fromEntries(
    op.pathParams.filter((p) => p.schema?.enum?.length).map((p) => [p.name, String(p.schema?.enum?.[0])]),
  );
}

/**
 * Finds (or creates) a tenant's resource for a child param not set up explicitly — so that a route
 * added later, e.g. /orgs/{org_id}/api-keys/{key_id}, is attacked with a real victim key.
 */
async function discoverIds(tenant: Tenant, exclude: Set<string>) {
  const params = [...new Set(tenantOps.flatMap((op) => childParams(op).map((p) => p.name)))];
  const pathOf = (name: string) =>
    tenantOps
      .map((op) => op.path)
      .find((path) => path.includes(`/{${name}}`))
      ?.split(`/{${name}}`)[0] ?? '';
  params.sort((a, b) => pathOf(a).split('/').length - pathOf(b).split('/').length);
  for (const name of params) {
    if (tenant.ids[name]) continue;
    const collection = pathOf(name);
    const fill = (path: string) =>
      path.replace(/\{(\w+)\}/g, (_, p: string) => {
        const id = tenant.ids[p]?.[0];
        if (!id) throw new Error(`cannot discover {${name}}: no ${p} for ${tenant.label}`);
        return id;
      });
    const pick = (item: Record<string, unknown> | undefined) => {
      const value = item?.[name] ?? item?.id;
      return typeof value === 'string' && !exclude.has(value) ? value : undefined;
    };
    const list = await server.request('GET', fill(collection), { token: tenant.token });
    let id: string | undefined;
    if (list.status === 200 && Array.isArray(list.body?.data)) {
      id = (list.body.data as Record<string, unknown>[]).map(pick).find(Boolean);
    }
    // Created by POST on the collection, or on an action under it with no further ids (seed 003's
    // `…/service-tokens/mint`).
    const create =
      operations.find((op) => op.method === 'POST' && op.path === collection) ??
      operations.find(
        (op) =>
          op.method === 'POST' &&
          op.path.startsWith(`${collection}/`) &&
          !op.path.slice(collection.length).includes('{'),
      );
    if (!id && create) {
      const body = create.body ? validBody(create, tenant, {}) : undefined;
      const created = await server.request('POST', fill(create.path), { token: tenant.token, body });
      if (created.status === 201 || created.status === 200) id = pick(created.body);
    }
    if (!id) {
      throw new Error(
        `isolation suite: cannot find or create a ${tenant.label} resource for {${name}} (GET/POST ${collection}); set one up in beforeAll`,
      );
    }
    tenant.ids[name] = [id];
  }
}

/**
 * A valid body for `op` (its OpenAPI example, else a minimal body from the schema), with id fields set
 * from `ids` and credentials fields set to `tenant`'s.
 */
function validBody(op: Operation, tenant: Tenant, ids: Record<string, string>): unknown {
  if (!op.body) return undefined;
  const base = op.body.example ?? minimalValue(op.body.schema);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return base;
  const body: Record<string, unknown> = structuredClone(base as Record<string, unknown>);
  const properties = op.body.schema.properties ?? {};
  for (const name of idFieldsOf(op)) {
    if (name in body || (op.body.schema.required ?? []).includes(name)) {
      const id = ids[name] ?? tenant.ids[name]?.[0];
      if (id) body[name] = id;
    }
  }
  if ('email' in properties && 'password' in properties) {
    body.email = tenant.user.email;
    body.password = PASSWORD;
  }
  return body;
}

/** Every combination of one value per param. */
function combinations(choices: [string, string[]][]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [name, values] of choices) {
    out = out.flatMap((partial) => values.map((value) => ({ ...partial, [name]: value })));
  }
  return out;
}

/** Strings of the victim org that no attacker response may contain (unless the attacker sent them). */
let victimSecrets: string[];

function assertNotFound(response: TestResponse, request: string) {
  const context = `${request} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, context).toBe(404);
  if (request.startsWith('HEAD ')) return;
  expect(response.headers['content-type'], context).toMatch(/^application\/problem\+json/);
  expect(response.body, context).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: 404,
    detail: expect.any(String),
    code: expect.any(String),
  });
  // The route exists: the 404 must come from the tenant check, not from the router.
  expect(response.body.code, context).not.toBe('route_not_found');
  for (const secret of victimSecrets) {
    if (!request.includes(secret)) expect(response.text, `${context} leaks ${secret}`).not.toContain(secret);
  }
}

/** Snapshot of every victim row: its org, its members' users, and every table with an org_id column. */
async function victimSnapshot() {
  const db = server.deps.db;
  const orgId = victim.user.orgId;
  const tables = await sql<{ table_name: string }>`
    SELECT DISTINCT table_name FROM information_schema.columns
    WHERE column_name = 'org_id' AND table_schema = current_schema()
    ORDER BY table_name`.execute(db);
  const snapshot: Record<string, unknown[]> = {};
  const sorted = (rows: unknown[]) =>
    rows.map((row) => [JSON.stringify(row), row] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const { table_name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`
      SELECT * FROM ${sql.table(table_name)} WHERE org_id = ${orgId}`.execute(db);
    snapshot[table_name] = sorted(rows.rows).map(([, row]) => row);
  }
  snapshot.organizations = await db.selectFrom('organizations').selectAll().where('id', '=', orgId).execute();
  snapshot.users = await db
    .selectFrom('users')
    .selectAll()
    .where('id', 'in', [victim.user.userId, victimSecondMember.userId])
    .orderBy('id')
    .execute();
  return snapshot;
}

// ── setup ───────────────────────────────────────────────────────────────────────────────────────

// Routes are discovered before the tests are declared, so each route gets its own test.
server = await startTestServer();
{
  const response = await server.request('GET', '/api/v1/openapi.json');
  if (response.status !== 200) throw new Error(`openapi.json: ${response.status}`);
  operations = operationsOf(response.body as OpenApiDocument);
  tenantOps = operations.filter(isTenant);
}

let before: Awaited<ReturnType<typeof victimSnapshot>>;
const attacked = { foreignOrg: new Set<string>(), foreignChild: new Set<string>() };

beforeAll(async () => {
  victim = await makeTenant('victim');
  attacker = await makeTenant('attacker');
  doubleAgent = await makeTenant('double-agent');
  const victimOrg = victim.user.orgId;

  victimSecondMember = await newUser(server, 'victim-member');
  await addMember(server, victimOrg, victimSecondMember.userId, 'member');
  // The second member comes first: attacks on {user_id} target a plain member and the owner.
  victim.ids.user_id = [victimSecondMember.userId, victim.user.userId];

  const viewer = await newUser(server, 'victim-viewer');
  await addMember(server, victimOrg, viewer.userId, 'viewer');
  viewerToken = await tokenFor(server, viewer, victimOrg);

  await addMember(server, victimOrg, doubleAgent.user.userId, 'admin');

  const exclude = new Set([...attacker.ids.user_id!, ...doubleAgent.ids.user_id!]);
  await discoverIds(victim, exclude);
  await discoverIds(attacker, new Set());
  await discoverIds(doubleAgent, new Set());

  const org = (await server.request('GET', `/api/v1/orgs/${victimOrg}`, { token: victim.token })).body;
  victimSecrets = [
    ...new Set([
      ...Object.values(victim.ids).flat(),
      victimSecondMember.email,
      victim.user.email,
      org.name,
      org.slug,
      `victim-secret-workspace-${tag}`,
      `victim-secret-env-${tag}`,
      `victim-private-key-${tag}`,
    ]),
  ];
  before = await victimSnapshot();
});

afterAll(async () => {
  await server?.close();
});

// ── route discovery ─────────────────────────────────────────────────────────────────────────────

describe('route discovery', () => {
  it('finds the tenant routes in the OpenAPI document', () => {
    expect(tenantOps.length).toBeGreaterThanOrEqual(20);
    for (const expected of [
      'GET /api/v1/orgs/{org_id}',
      'DELETE /api/v1/orgs/{org_id}/workspaces/{workspace_id}',
      'PATCH /api/v1/orgs/{org_id}/workspaces/{workspace_id}/environments/{environment_id}',
      'DELETE /api/v1/orgs/{org_id}/members/{user_id}',
    ]) {
      expect(tenantOps.map(routeName)).toContain(expected);
    }
  });

  it('documents every route the server registered with an {org_id} (none is hidden)', () => {
    const registered = registeredRoutes(server.app.printRoutes({ commonPrefix: false }))
      .filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS')
      .filter(isTenant)
      .map(routeName)
      .sort();
    expect(registered.length).toBeGreaterThan(0);
    expect(tenantOps.map(routeName).sort()).toEqual(registered);
  });

  it('declares a permission and a credential on every route under /api/v1/orgs/{org_id}', () => {
    const underOrg = tenantOps.filter(
      (op) => op.path === TENANT_PREFIX || op.path.startsWith(`${TENANT_PREFIX}/`),
    );
    expect(underOrg.length).toBeGreaterThanOrEqual(20);
    const undeclared = underOrg
      .filter((op) => !op.permission || !/^[a-z_]+:[a-z_]+$/.test(op.permission) || !op.secured)
      .map(routeName);
    expect(undeclared).toEqual([]);
  });
});

// ── attacks ─────────────────────────────────────────────────────────────────────────────────────

describe.each(tenantOps.map((op) => [routeName(op), op] as const))('%s', (_name, op) => {
  const children = childParams(op);

  it('answers 401 without a credential', async () => {
    const ids = { ...Object.fromEntries(Object.entries(victim.ids).map(([k, v]) => [k, v[0]!])) };
    const response = await server.request(op.method, urlOf(op, { ...ids, ...fixedParams(op) }), {
      body: validBody(op, victim, ids),
    });
    expect(response.status, response.text).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it("answers 404 to other orgs' credentials on the victim org (a)", async () => {
    for (const intruder of [attacker, doubleAgent]) {
      // Every child id either the victim's or the intruder's own: the org alone must decide.
      const choices = children.map(
        (p) =>
          [p.name, [...(victim.ids[p.name] ?? []), ...(intruder.ids[p.name] ?? [])]] as [string, string[]],
      );
      for (const combination of combinations(choices)) {
        const ids = { ...combination, ...fixedParams(op), org_id: victim.user.orgId };
        const url = urlOf(op, ids);
        const body = validBody(op, intruder, ids);
        const response = await server.request(op.method, url, { token: intruder.token, body });
        assertNotFound(response, `${op.method} ${url} ${JSON.stringify(body) ?? ''} as ${intruder.label}`);
        if (op.method === 'GET') {
          const head = await server.request('HEAD', url, { token: intruder.token });
          assertNotFound(head, `HEAD ${url} as ${intruder.label}`);
        }
      }
    }
    attacked.foreignOrg.add(routeName(op));
  });

  if (children.length === 0) return;
  it("answers 404 to the attacker's own org with the victim's child ids (b)", async () => {
    for (const intruder of [attacker, doubleAgent]) {
      const choices = children.map(
        (p) =>
          [p.name, [...(victim.ids[p.name] ?? []), ...(intruder.ids[p.name] ?? [])]] as [string, string[]],
      );
      const own = new Set(Object.values(intruder.ids).flat());
      for (const combination of combinations(choices)) {
        // At least one child id must be the victim's.
        if (Object.values(combination).every((id) => own.has(id))) continue;
        const ids = { ...combination, ...fixedParams(op), org_id: intruder.user.orgId };
        const url = urlOf(op, ids);
        const body = validBody(op, intruder, ids);
        const response = await server.request(op.method, url, { token: intruder.token, body });
        assertNotFound(response, `${op.method} ${url} ${JSON.stringify(body) ?? ''} as ${intruder.label}`);
      }
    }
    attacked.foreignChild.add(routeName(op));
  });
});

describe('foreign ids inside request bodies (c)', () => {
  const withIdFields = operations.filter((op) => idFieldsOf(op).length > 0);

  it('finds the routes that take an id in their body', () => {
    expect(withIdFields.map(routeName)).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/switch-org', 'POST /api/v1/auth/login']),
    );
  });

  it.each(withIdFields.map((op) => [routeName(op), op] as const))(
    '%s answers 404 to a victim id in the body',
    async (_name, op) => {
      // Only the outsider: the double agent really is a member of the victim org, so switching or
      // signing into it is allowed (and would write the victim's audit log).
      for (const intruder of [attacker]) {
        for (const field of idFieldsOf(op)) {
          const foreign = victim.ids[field]?.[0];
          if (!foreign) throw new Error(`no victim id for body field ${field} of ${routeName(op)}`);
          // The path names the intruder's own resources; only the body points into the victim org.
          const ids = {
            ...Object.fromEntries(Object.entries(intruder.ids).map(([k, v]) => [k, v[0]!])),
            ...fixedParams(op),
          };
          const url = urlOf(op, ids);
          const body = { ...(validBody(op, intruder, ids) as Record<string, unknown>), [field]: foreign };
          const response = await server.request(op.method, url, { token: intruder.token, body });
          assertNotFound(response, `${op.method} ${url} ${JSON.stringify(body)} as ${intruder.label}`);
        }
      }
    },
  );
});

describe('id filters in query strings', () => {
  const filtered = tenantOps.filter(
    (op) => op.method === 'GET' && op.queryParams.some((p) => /_id$/.test(p.name)),
  );

  it('finds the lists that filter by id', () => {
    expect(filtered.map(routeName)).toContain('GET /api/v1/orgs/{org_id}/audit-logs');
  });

  it.each(filtered.map((op) => [routeName(op), op] as const))(
    '%s in the attacker org shows nothing of the victim for victim ids',
    async (_name, op) => {
      const ids = {
        ...Object.fromEntries(Object.entries(attacker.ids).map(([k, v]) => [k, v[0]!])),
        ...fixedParams(op),
      };
      const foreign = [...new Set(Object.values(victim.ids).flat())];
      for (const param of op.queryParams.filter((p) => /_id$/.test(p.name))) {
        for (const id of foreign) {
          const url = `${urlOf(op, ids)}?${param.name}=${encodeURIComponent(id)}`;
          const response = await server.request('GET', url, { token: attacker.token });
          expect(response.status, `${url}: ${response.text}`).toBe(200);
          expect(response.body.data, url).toEqual([]);
          for (const secret of victimSecrets) {
            if (secret !== id) expect(response.text, `${url} leaks ${secret}`).not.toContain(secret);
          }
        }
      }
    },
  );
});

describe('user-level routes', () => {
  it('never show the victim org to an outsider', async () => {
    const lists = operations.filter((op) => op.method === 'GET' && op.pathParams.length === 0 && op.secured);
    expect(lists.length).toBeGreaterThan(0);
    for (const op of lists) {
      const response = await server.request('GET', op.path, { token: attacker.token });
      expect(response.status, `${routeName(op)}: ${response.text}`).toBeLessThan(500);
      for (const secret of victimSecrets)
        expect(response.text, `${routeName(op)} leaks`).not.toContain(secret);
    }
  });
});

describe('a viewer of the victim org', () => {
  it('gets 403 (not 404) where the role lacks the permission, and 200 on the reads it holds', async () => {
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: viewerToken });
    expect(whoami.status).toBe(200);
    expect(whoami.body.role).toBe('viewer');
    const scopes = new Set<string>(whoami.body.scopes);
    const ids = {
      ...Object.fromEntries(Object.entries(victim.ids).map(([k, v]) => [k, v[0]!])),
    };
    const outcomes: string[] = [];
    for (const op of tenantOps) {
      const url = urlOf(op, { ...ids, ...fixedParams(op) });
      if (op.permission && !scopes.has(op.permission)) {
        const response = await server.request(op.method, url, {
          token: viewerToken,
          body: validBody(op, victim, ids),
        });
        expect(response.status, `${op.method} ${url}: ${response.text}`).toBe(403);
        expect(response.body.code).toBe('permission_denied');
        outcomes.push(`${routeName(op)} 403`);
      } else if (op.method === 'GET') {
        const response = await server.request('GET', url, { token: viewerToken });
        expect(response.status, `${op.method} ${url}: ${response.text}`).toBe(200);
        outcomes.push(`${routeName(op)} 200`);
      }
    }
    expect(outcomes).toContain('POST /api/v1/orgs/{org_id}/workspaces 403');
    expect(outcomes).toContain('GET /api/v1/orgs/{org_id}/workspaces 200');
    expect(outcomes).toContain('DELETE /api/v1/orgs/{org_id} 403');
  });
});

// ── no change ───────────────────────────────────────────────────────────────────────────────────

describe('after every attack', () => {
  it('attacked every tenant route', () => {
    expect([...attacked.foreignOrg].sort()).toEqual(tenantOps.map(routeName).sort());
    expect([...attacked.foreignChild].sort()).toEqual(
      tenantOps
        .filter((op) => childParams(op).length > 0)
        .map(routeName)
        .sort(),
    );
  });

  it('left every row of the victim org unchanged', async () => {
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([
        'organizations',
        'memberships',
        'workspaces',
        'environments',
        'org_data_keys',
        'audit_logs',
      ]),
    );
    expect(before.workspaces).toHaveLength(1);
    expect(before.environments).toHaveLength(1);
    expect(before.memberships).toHaveLength(4);
    expect(await victimSnapshot()).toEqual(before);
  });
});
