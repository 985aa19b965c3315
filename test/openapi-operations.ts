import { randomBytes } from 'node:crypto';

// Every operation of the served OpenAPI document, in the shape the black-box suites need: the
// isolation and fuzz suites both discover routes this way, so a route added later is covered by both.

export interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  $ref?: string;
}

export interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  description?: string;
  parameters?: OpenApiParameter[];
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema; example?: unknown }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. /api/v1/orgs/{org_id}/workspaces/{workspace_id}. */
  path: string;
  pathParams: OpenApiParameter[];
  queryParams: OpenApiParameter[];
  body: { schema: JsonSchema; example: unknown } | null;
  /** The permission the operation declares ("Requires the `…` permission."), if any. */
  permission: string | null;
  secured: boolean;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const resolve = (schema: JsonSchema | undefined): JsonSchema | undefined => {
    const ref = schema?.$ref?.replace('#/components/schemas/', '');
    return ref ? doc.components?.schemas?.[ref] : schema;
  };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const json = operation.requestBody?.content?.['application/json'];
      const schema = resolve(json?.schema);
      const permission = /Requires the `([^`]+)` permission\./.exec(operation.description ?? '')?.[1] ?? null;
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: (operation.parameters ?? []).filter((p) => p.in === 'path'),
        queryParams: (operation.parameters ?? []).filter((p) => p.in === 'query'),
        body: schema ? { schema, example: json?.example ?? schema.examples?.[0] } : null,
        permission,
        secured: (operation.security ?? []).length > 0,
      });
    }
  }
  return operations;
}

export const isUuidSchema = (s: JsonSchema | undefined): boolean =>
  !!s && (s.format === 'uuid' || [...(s.anyOf ?? []), ...(s.oneOf ?? [])].some(isUuidSchema));

/**
 * The smallest value a schema accepts (examples and defaults first), for building valid bodies.
 * Id fields get `idFor(fieldName)`, so a suite can put real or foreign ids there.
 */
export function minimalValue(
  schema: JsonSchema,
  idFor: (name: string) => unknown = () => '00000000-0000-4000-8000-000000000000',
  name = '',
): unknown {
  if (isUuidSchema(schema)) return idFor(name);
  if (schema.examples?.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const branch = (schema.anyOf ?? schema.oneOf)?.find((s) => s.type !== 'null');
  if (branch) return minimalValue(branch, idFor, name);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(
        (schema.required ?? []).map((key) => [key, minimalValue(schema.properties?.[key] ?? {}, idFor, key)]),
      );
    case 'string':
      if (schema.format === 'email') return `someone-${randomBytes(3).toString('hex')}@example.com`;
      if (schema.format === 'date-time') return new Date().toISOString();
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    default:
      return null;
  }
}
