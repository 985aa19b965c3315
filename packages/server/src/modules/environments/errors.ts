import { problems } from '../../http/problem.ts';

export const environmentErrors = {
  notFound: () => problems.notFound('Environment'),
  slugTaken: (slug: string) =>
    problems.conflict('slug_taken', `The workspace already has an environment with the slug "${slug}".`),
};
