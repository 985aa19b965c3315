// Request validation. JSON bodies are validated strictly — `3` is not the string "3" and `null` is
// not "" — while query strings and path params, which are text on the wire, are coerced to the
// declared types. Every error is collected (allErrors) so a client can fix all fields at once.
import { Ajv, type Options } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/** How deeply a value nests (objects and arrays), measured without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

function compiler(options: Options) {
  const ajv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    ...options,
  });
  // `maxDepth` bounds free-form JSON fields: a value nested thousands deep would otherwise reach
  // recursive code (JSON.stringify, the database) and exhaust the stack.
  ajv.addKeyword({
    keyword: 'maxDepth',
    type: ['object', 'array'],
    schemaType: 'number',
    errors: true,
    validate: function maxDepth(limit: number, data: unknown) {
      if (nestingDepth(data) <= limit) return true;
      (maxDepth as unknown as { errors: object[] }).errors = [
        { keyword: 'maxDepth', message: `must not nest more than ${limit} levels deep`, params: { limit } },
      ];
      return false;
    },
  });
  // ajv-formats is CommonJS: under NodeNext its callable export sits on `.default`.
  (formatsPlugin as unknown as { default: typeof formatsPlugin.default }).default(ajv);
  return ajv;
}

export function registerValidation(app: FastifyInstance): void {
  const strict = compiler({ coerceTypes: false });
  const coercing = compiler({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
}
