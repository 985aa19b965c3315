import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { Nullable, Timestamp, Uuid } from '../../http/schema-helpers.ts';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['Production'] });
const Description = Type.String({ maxLength: 2000, examples: ['Customer-facing workloads'] });

export const Workspace = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  name: Type.String(),
  description: Nullable(Type.String()),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const WorkspaceParams = Type.Object({ org_id: Uuid(), workspace_id: Uuid() });
export const CreateWorkspaceBody = Type.Object(
  { name: Name, description: Type.Optional(Description) },
  {
    additionalProperties: false,
    examples: [{ name: 'Production', description: 'Customer-facing workloads' }],
  },
);
export const UpdateWorkspaceBody = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false, minProperties: 1, examples: [{ name: 'Renamed' }] },
);
export const ListWorkspacesQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const WorkspacePage = pageResponse(Workspace);
