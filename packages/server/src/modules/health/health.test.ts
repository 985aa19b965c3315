import { describe, expect, it } from 'vitest';
import { useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

describe('the server root', () => {
  it('GET / points to the API docs instead of answering a bare 404', async () => {
    const root = await server.request('GET', '/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/docs');
    expect(root.body).toEqual({ docs: '/docs', openapi: '/api/v1/openapi.json' });
    // …and the docs are really there.
    const docs = await server.request('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(String(docs.headers['content-type'])).toContain('text/html');
  });
});
