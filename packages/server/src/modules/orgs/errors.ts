import { problems } from '../../http/problem.ts';

export const orgErrors = {
  notFound: () => problems.notFound('Organization'),
  slugTaken: (slug: string) =>
    problems.conflict('slug_taken', `The slug "${slug}" is already used by another organization.`),
  notPlatformAdmin: () =>
    problems.forbidden(
      'platform_admin_required',
      'Only platform administrators may suspend or restore a suspended organization.',
    ),
  supportTierIsPlatforms: () =>
    problems.forbidden('platform_admin_required', 'support_tier is set by platform administrators.'),
  billingIsOwners: () =>
    problems.forbidden(
      'permission_denied',
      'Changing billing_email needs write:billing, which only owners hold.',
    ),
  suspended: () =>
    problems.forbidden(
      'org_suspended',
      'This organization is suspended; only a platform administrator can restore it.',
    ),
  invalidTransition: (from: string, action: string) =>
    problems.conflict('invalid_status_transition', `An organization that is ${from} cannot be ${action}.`),
};
