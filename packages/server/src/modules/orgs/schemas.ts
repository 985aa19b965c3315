import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { Email, Nullable, OrgParams, StringEnum, Timestamp, Uuid } from '../../http/schema-helpers.ts';
import { SLUG_PATTERN } from './slug.ts';

export const ORG_STATUSES = ['active', 'suspended', 'archived'] as const;
export const SUPPORT_TIERS = ['community', 'standard', 'premium', 'enterprise'] as const;
export const ORG_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['Acme Corp'] });
const Slug = Type.String({
  minLength: 2,
  maxLength: 63,
  pattern: SLUG_PATTERN,
  description: 'Lowercase letters, digits and single hyphens; unique across the platform.',
  examples: ['acme-corp'],
});
const Domain = Type.String({
  maxLength: 253,
  pattern: '^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$',
  examples: ['acme.com'],
});
const Industry = Type.String({ maxLength: 100, examples: ['Software'] });

export const Organization = Type.Object({
  id: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  status: StringEnum(ORG_STATUSES),
  primary_domain: Nullable(Type.String()),
  industry: Nullable(Type.String()),
  contact_email: Nullable(Type.String()),
  billing_email: Nullable(Type.String()),
  support_tier: StringEnum(SUPPORT_TIERS),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const OrganizationWithRole = Type.Object({ ...Organization.properties, role: StringEnum(ORG_ROLES) });

export const CreateOrgBody = Type.Object(
  {
    name: Name,
    slug: Type.Optional(Slug),
    primary_domain: Type.Optional(Domain),
    industry: Type.Optional(Industry),
    contact_email: Type.Optional(Email()),
    billing_email: Type.Optional(Email()),
    support_tier: Type.Optional(StringEnum(SUPPORT_TIERS)),
  },
  { additionalProperties: false, examples: [{ name: 'Acme Corp', slug: 'acme-corp' }] },
);

export const UpdateOrgBody = Type.Object(
  {
    name: Type.Optional(Name),
    slug: Type.Optional(Slug),
    primary_domain: Type.Optional(Nullable(Domain)),
    industry: Type.Optional(Nullable(Industry)),
    contact_email: Type.Optional(Nullable(Email())),
    billing_email: Type.Optional(Nullable(Email())),
    support_tier: Type.Optional(StringEnum(SUPPORT_TIERS)),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ industry: 'Software' }] },
);

export const ListOrgsQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const OrganizationPage = pageResponse(OrganizationWithRole);
export { OrgParams };
