import { problems } from '../../http/problem.ts';

export const memberErrors = {
  notFound: () => problems.notFound('Member'),
  lastOwner: () =>
    problems.conflict(
      'last_owner',
      'An organization needs at least one owner; make someone else owner first.',
    ),
  permissionDenied: (role: string) =>
    problems.forbidden(
      'permission_denied',
      `Your role (${role}) does not grant write:members, which this action needs.`,
    ),
  ownersOnly: () =>
    problems.forbidden(
      'owner_required',
      'Only owners may grant the owner role or change or remove an owner.',
    ),
};
