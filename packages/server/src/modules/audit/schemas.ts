import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { JsonObject, Nullable, OrgParams, Timestamp, Uuid } from '../../http/schema-helpers.ts';

export const AuditLogEntry = Type.Object({
  id: Uuid(),
  occurred_at: Timestamp(),
  action: Type.String({ examples: ['workspace.created'] }),
  actor: Type.Object({ type: Type.String(), id: Nullable(Type.String()), email: Nullable(Type.String()) }),
  target: Nullable(Type.Object({ type: Type.String(), id: Nullable(Type.String()) })),
  ip: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  metadata: JsonObject(),
});

export const ListAuditLogsQuery = Type.Object(
  {
    ...pageQueryFields,
    action: Type.Optional(
      Type.String({ maxLength: 100, description: 'Exact action, or a family such as `member.*`.' }),
    ),
    actor_id: Type.Optional(Type.String({ maxLength: 100 })),
    target_type: Type.Optional(Type.String({ maxLength: 100 })),
    target_id: Type.Optional(Type.String({ maxLength: 100 })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time.' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time.' })),
  },
  { additionalProperties: false },
);

export const AuditLogPage = pageResponse(AuditLogEntry);
export { OrgParams };
