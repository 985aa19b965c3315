// `npm test` runs every suite on embedded PGlite, and again on real PostgreSQL when
// TEST_DATABASE_URL is set (CI sets it). Each test file gets its own database or schema.
import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

const include = ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'];
const projects: TestProjectConfiguration[] = [
  { extends: true, test: { name: 'pglite', include, env: { ORGPLANE_TEST_DB: 'pglite' } } },
];
if (process.env.TEST_DATABASE_URL) {
  projects.push({
    extends: true,
    test: { name: 'postgres', include, env: { ORGPLANE_TEST_DB: 'postgres' } },
  });
}

export default defineConfig({
  test: {
    projects,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
