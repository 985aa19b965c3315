import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schema-helpers.ts';
import { ORG_ROLES } from '../orgs/schemas.ts';

export const Member = Type.Object({
  user_id: Uuid(),
  email: Type.String(),
  name: Nullable(Type.String()),
  role: StringEnum(ORG_ROLES),
  joined_at: Timestamp(),
});

export const MemberParams = Type.Object({ org_id: Uuid(), user_id: Uuid() });
export const ListMembersQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const MemberPage = pageResponse(Member);
export const ChangeRoleBody = Type.Object(
  { role: StringEnum(ORG_ROLES) },
  { additionalProperties: false, examples: [{ role: 'admin' }] },
);
