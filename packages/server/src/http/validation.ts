// Request validation. JSON bodies are validated strictly — `3` is not the string "3" and `null` is
// not "" — while query strings and path params, which are text on the wire, are coerced to the
// declared types. Every error is collected (allErrors) so a client can fix all fields at once.
import { Ajv, type Options } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

function compiler(options: Options) {
  const ajv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    ...options,
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
