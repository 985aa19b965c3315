// Small schema builders shared by every module's schemas.ts, so the OpenAPI document reads well.
import { type TSchema, Type } from 'typebox';

export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Uuid = (options: Record<string, unknown> = {}) => Type.String({ format: 'uuid', ...options });

export const Timestamp = () => Type.String({ format: 'date-time' });

/** A free-form JSON object. */
export const JsonObject = (options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, ...options });

/** A free-form JSON object sent by a client: at most 32 levels deep (see http/validation.ts). */
export const JsonObjectInput = (options: Record<string, unknown> = {}) =>
  JsonObject({ maxDepth: 32, ...options });

export const Email = (options: Record<string, unknown> = {}) =>
  Type.String({ format: 'email', maxLength: 254, ...options });

/** `{org_id}` path parameter, plus any further ids of the route. */
export const OrgParams = Type.Object({ org_id: Uuid() });

export const NoContent = Type.Null({ description: 'No content' });
