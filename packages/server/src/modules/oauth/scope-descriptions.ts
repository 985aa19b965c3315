// What each scope lets an application do, in words for the consent page: seed 003's own
// descriptions for its scopes, and a phrase built from `verb:resource` for Orgplane's.
const SEED_DESCRIPTIONS: Record<string, string> = {
  'read:solutions': 'List and read solutions',
  'write:solutions': 'Create, update, and delete solutions',
  'read:components': 'List and read components',
  'write:components': 'Create, update, and delete components',
  'read:agents': 'List and read agents',
  'execute:agents': 'Run agents',
  'read:workflows': 'List and read workflows',
  'execute:workflows': 'Run workflows',
  'read:connectors': 'List connectors and instances',
  'write:connectors': 'Create and configure connector instances',
  'read:datasets': 'Query datasets',
  'write:datasets': 'Create and modify datasets',
  'admin:org': 'Organization management (users, settings, billing)',
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Keep access while you are away (refresh tokens)',
};

const VERBS: Record<string, string> = {
  read: 'Read',
  write: 'Create and change',
  delete: 'Delete',
  archive: 'Archive and restore',
  mint: 'Mint',
};

export function describeScope(scope: string): string {
  const seed = SEED_DESCRIPTIONS[scope];
  if (seed) return seed;
  const [verb = '', resource = ''] = scope.split(':');
  return `${VERBS[verb] ?? verb} ${resource.replaceAll('_', ' ')}`;
}
