// The server's own surface: health, readiness, metrics, OpenAPI, docs, request ids, problem
// responses for framework errors, response headers, and logs that never carry secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUser, PASSWORD, startTestServer, type TestServer } from './harness.ts';

const logLines: string[] = [];
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { logDestination: { write: (line) => void logLines.push(line) } });
});
afterAll(async () => {
  await server?.close();
});

describe('health and readiness', () => {
  it('/healthz answers ok', async () => {
    const response = await server.request('GET', '/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('answers HEAD like GET without a body (monitors and load balancers probe with HEAD)', async () => {
    const health = await server.request('HEAD', '/healthz');
    expect(health.status).toBe(200);
    expect(health.headers['content-type']).toMatch(/^application\/json/);
    expect(health.text).toBe('');
    // A HEAD twin is guarded like its GET: no credential, no entry.
    expect((await server.request('HEAD', '/api/v1/auth/whoami')).status).toBe(401);
  });

  it('/readyz answers 200 with migrations applied, 503 as a problem when the database is gone', async () => {
    expect((await server.request('GET', '/readyz')).status).toBe(200);
    const broken = await startTestServer();
    await broken.deps.db.destroy();
    const response = await broken.request('GET', '/readyz');
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    await broken.app.close();
  });

  it('/metrics exposes Prometheus text with request durations by route template', async () => {
    const user = await newUser(server);
    await server.request('GET', `/api/v1/orgs/${user.orgId}/workspaces`, { token: user.token });
    const response = await server.request('GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const series = 'method="GET",route="/api/v1/orgs/:org_id/workspaces",status_code="200"';
    expect(response.text).toContain(`# TYPE orgplane_http_request_duration_seconds histogram`);
    expect(response.text).toContain(`orgplane_http_request_duration_seconds_count{${series}} 1\n`);
    expect(response.text).toContain(`orgplane_http_request_duration_seconds_bucket{${series},le="+Inf"} 1\n`);
    expect(response.text).toContain(`orgplane_http_request_duration_seconds_bucket{${series},le="5"} 1\n`);
    const sum = response.text
      .split('\n')
      .find((line) => line.startsWith(`orgplane_http_request_duration_seconds_sum{${series}} `));
    expect(Number(sum?.split(' ')[1])).toBeGreaterThan(0);
    expect(response.text).not.toContain(user.orgId);
    // A path that matches no route is counted under one label value, whatever the path was.
    await server.request('GET', `/no/such/${user.orgId}`);
    const after = (await server.request('GET', '/metrics')).text;
    expect(after).toContain(
      'orgplane_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1\n',
    );
    expect(after).not.toContain(user.orgId);
    expect(after).toContain(`orgplane_http_request_duration_seconds_count{${series}} 1\n`);
    expect(response.text).toContain('orgplane_process_cpu_user_seconds_total');
  });

  it('/metrics reports whether the change feed is heard (0 while the credential caches are paused)', async () => {
    expect((await server.request('GET', '/metrics')).text).toMatch(/^orgplane_change_feed_up 1$/m);
    server.deps.caches.onHearing(false);
    try {
      expect((await server.request('GET', '/metrics')).text).toMatch(/^orgplane_change_feed_up 0$/m);
    } finally {
      server.deps.caches.onHearing(true);
    }
  });
});

describe('OpenAPI and docs', () => {
  it('serves an OpenAPI 3.1 document covering every API route', async () => {
    const response = await server.request('GET', '/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toBe('3.1.0');
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/api/v1/auth/signup',
      '/api/v1/auth/login',
      '/api/v1/auth/refresh',
      '/api/v1/auth/logout',
      '/api/v1/auth/switch-org',
      '/api/v1/auth/whoami',
      '/api/v1/orgs',
      '/api/v1/orgs/{org_id}',
      '/api/v1/orgs/{org_id}/archive',
      '/api/v1/orgs/{org_id}/suspend',
      '/api/v1/orgs/{org_id}/restore',
      '/api/v1/orgs/{org_id}/members/{user_id}',
      '/api/v1/orgs/{org_id}/workspaces/{workspace_id}/environments/{environment_id}',
      '/api/v1/orgs/{org_id}/audit-logs',
    ]) {
      expect(paths, path).toContain(path);
    }
    const create = doc.paths['/api/v1/orgs/{org_id}/workspaces'].post;
    expect(create.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(create.description).toContain('write:workspaces');
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name']);
    expect(doc.paths['/api/v1/auth/login'].post.security).toBeUndefined();
    // Problems are documented on every operation; health routes are part of the document.
    expect(create.responses['4XX'].content['application/problem+json'].schema.$ref).toBe(
      '#/components/schemas/Problem',
    );
    expect(doc.components.schemas.Problem.properties.code).toBeDefined();
    for (const path of ['/healthz', '/readyz', '/metrics']) expect(paths, path).toContain(path);
  });

  it('serves browsable docs at /docs', async () => {
    const response = await server.request('GET', '/docs/');
    expect(response.status).toBe(200);
    expect(response.text).toContain('swagger');
  });
});

describe('request handling', () => {
  it('assigns a request id, or keeps a safe one the caller sent', async () => {
    const generated = await server.request('GET', '/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const unsafe = await server.request('GET', '/healthz', {
      headers: { 'x-request-id': 'bad id\nwith newline' },
    });
    expect(unsafe.headers['x-request-id']).not.toContain('bad');
  });

  it('answers unknown routes, malformed JSON, wrong media types and huge bodies with problems', async () => {
    const unknown = await server.request('GET', '/api/v1/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      status: 404,
      code: 'route_not_found',
      type: expect.any(String),
      title: 'Not Found',
    });
    const malformed = await server.request('POST', '/api/v1/auth/login', { body: '{"email": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('invalid_json');
    const media = await server.request('POST', '/api/v1/auth/login', {
      body: 'email=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(media.status).toBe(415);
    const huge = await server.request('POST', '/api/v1/auth/login', {
      body: JSON.stringify({ email: 'x'.repeat(2_000_000) }),
    });
    expect(huge.status).toBe(413);
    for (const response of [unknown, malformed, media, huge]) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
    }
  });

  it('answers malformed and over-long URLs with problems carrying a request id', async () => {
    const bad = await server.request('GET', '/api/v1/orgs/%zz');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('bad_url');
    expect(bad.headers['x-request-id']).toBeTruthy();
    const long = await server.request('GET', `/api/v1/orgs/${'a'.repeat(150)}`);
    expect(long.status).toBe(414);
    expect(long.body.code).toBe('uri_too_long');
    for (const response of [bad, long])
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses free-form JSON nested deeper than 32 levels with a 400 naming the field', async () => {
    const user = await newUser(server);
    const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'W' },
    });
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const response = await server.request(
      'POST',
      `/api/v1/orgs/${user.orgId}/workspaces/${ws.body.id}/environments`,
      {
        token: user.token,
        body: `{"name":"e","slug":"e","tier":"dev","deployment_host":"aws","execution_backend":${deep}}`,
      },
    );
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { path: 'body.execution_backend', message: 'must not nest more than 32 levels deep' },
    ]);
  });

  it('accepts body-less requests that still declare a JSON content type', async () => {
    const user = await newUser(server);
    const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'W' },
    });
    const response = await server.request('DELETE', `/api/v1/orgs/${user.orgId}/workspaces/${ws.body.id}`, {
      token: user.token,
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(204);
  });

  it('marks API responses uncacheable', async () => {
    const user = await newUser(server);
    const response = await server.request('GET', '/api/v1/auth/whoami', { token: user.token });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('logs', () => {
  it('are JSON lines with request ids and never contain passwords or tokens', async () => {
    const user = await newUser(server);
    await server.request('GET', '/api/v1/auth/whoami', {
      token: user.token,
      headers: { 'x-api-key': 'fl_notarealkey' },
    });
    await server.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: user.refreshToken } });
    await server.request('GET', '/api/v1/orgs?limit=5&token=query-secret-value&api_key=another-secret', {
      token: user.token,
    });
    const text = logLines.join('');
    expect(logLines.length).toBeGreaterThan(3);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(text).toContain('"reqId"');
    for (const secret of [
      PASSWORD,
      user.token,
      user.refreshToken,
      'fl_notarealkey',
      'query-secret-value',
      'another-secret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('limit=5&token=[redacted]');
    // One access line per request (not Fastify's two), with what an operator looks for.
    const lines = logLines.map((line) => JSON.parse(line));
    expect(lines.some((line) => line.msg === 'incoming request')).toBe(false);
    const refreshLines = lines.filter(
      (line) => line.msg === 'request completed' && line.req?.url === '/api/v1/auth/refresh',
    );
    expect(refreshLines).toHaveLength(1);
    expect(refreshLines[0]).toMatchObject({ req: { method: 'POST' }, res: { statusCode: 200 } });
    expect(refreshLines[0].responseTime).toBeGreaterThan(0);
    expect(typeof refreshLines[0].reqId).toBe('string');
  });
});

describe('metrics behind a token', () => {
  it('requires ORGPLANE_METRICS_TOKEN as a Bearer token when it is set', async () => {
    const guarded = await startTestServer({ ORGPLANE_METRICS_TOKEN: 'scrape-secret-123' });
    try {
      expect((await guarded.request('GET', '/metrics')).status).toBe(401);
      expect((await guarded.request('GET', '/metrics', { token: 'wrong' })).status).toBe(401);
      const ok = await guarded.request('GET', '/metrics', { token: 'scrape-secret-123' });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('orgplane_http_request_duration_seconds');
    } finally {
      await guarded.close();
    }
  });
});
