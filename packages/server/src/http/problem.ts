// RFC 9457 problem details. Every error leaves the server in this shape: services throw
// ProblemError; anything else (validation, malformed JSON, unknown routes, crashes) is translated
// here, and a crash never shows its stack to the caller.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface FieldError {
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  request_id?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
  }
}

export const problems = {
  badRequest: (code: string, detail: string, errors?: FieldError[]) =>
    new ProblemError(400, code, detail, errors ? { errors } : {}),
  unauthorized: (detail = 'A valid credential is required.', code = 'unauthorized') =>
    new ProblemError(401, code, detail, { headers: { 'www-authenticate': 'Bearer' } }),
  forbidden: (code: string, detail: string) => new ProblemError(403, code, detail),
  notFound: (what: string) => new ProblemError(404, 'not_found', `${what} was not found.`),
  conflict: (code: string, detail: string) => new ProblemError(409, code, detail),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new ProblemError(429, 'rate_limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
};

export function problemBody(status: number, code: string, detail: string, requestId?: string): Problem {
  return {
    type: `urn:orgplane:problem:${code}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    ...(requestId ? { request_id: requestId } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}) {
  return reply.code(problem.status).headers(headers).type('application/problem+json').send(problem);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** One entry per bad field, addressed like `body.email` or `query.limit`. */
export function fieldErrors(issues: AjvIssue[], location: string): FieldError[] {
  return issues.map((issue) => {
    const segments = issue.instancePath.split('/').filter(Boolean);
    if (issue.keyword === 'required') segments.push(String(issue.params.missingProperty));
    if (issue.keyword === 'additionalProperties') segments.push(String(issue.params.additionalProperty));
    const where = [location, ...segments].join('.');
    const message =
      issue.keyword === 'additionalProperties'
        ? 'is not a known field'
        : issue.keyword === 'required'
          ? 'is required'
          : (issue.message ?? 'is invalid');
    return { path: where, message };
  });
}

// Fastify's own errors for bad input, mapped to codes a client can branch on.
const FRAMEWORK_CODES: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json', 'The request body is not valid JSON.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json', 'The request body is empty but declared as JSON.'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large', 'The request body is too large.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'Send the body as application/json.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    'invalid_content_length',
    'Content-Length does not match the body.',
  ],
};

// Database errors that bad or racing input can cause: answered as the 4xx they are. Services
// check these cases first with friendlier messages; this is the net for races between check and write.
const DATABASE_CODES: Record<string, [number, string, string]> = {
  '23505': [409, 'conflict', 'A resource with these values already exists.'],
  '23503': [409, 'conflict', 'A resource this request refers to was changed or removed meanwhile; retry.'],
  '40001': [409, 'concurrent_update', 'A concurrent change got there first; retry the request.'],
  '40P01': [409, 'concurrent_update', 'A concurrent change got there first; retry the request.'],
  '22P02': [400, 'invalid_input', 'A value in the request has the wrong format.'],
  '22001': [400, 'invalid_input', 'A value in the request is too long.'],
  '22003': [400, 'invalid_input', 'A number in the request is out of range.'],
  '22007': [400, 'invalid_input', 'A date or time in the request is invalid.'],
  '22008': [400, 'invalid_input', 'A date or time in the request is out of range.'],
  '22009': [400, 'invalid_input', 'A time zone offset in the request is invalid.'],
  '22021': [400, 'invalid_input', 'The request contains bytes that are not valid text.'],
  '22P05': [
    400,
    'invalid_input',
    'The request contains a character that cannot be stored (such as \\u0000).',
  ],
  '54001': [400, 'invalid_input', 'A value in the request is too deeply nested.'],
};

function databaseProblem(error: { code?: unknown }) {
  return typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code)
    ? DATABASE_CODES[error.code]
    : undefined;
}

/**
 * Errors Fastify raises before routing (a malformed percent-escape, an over-long path segment):
 * they bypass hooks and the error handler, so they get their problem body and headers here.
 */
export function frameworkErrorProblem(
  error: { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const body = tooLong
    ? problemBody(414, 'uri_too_long', 'A path segment of the URL is too long.', request.id)
    : problemBody(400, 'bad_url', 'The URL is malformed (check its percent-escapes).', request.id);
  return sendProblem(reply, body, { 'x-request-id': request.id, 'cache-control': 'no-store' });
}

export function registerProblemHandlers(
  app: FastifyInstance,
  hooks: { onNotFound?: (request: FastifyRequest, reply: FastifyReply) => void } = {},
): void {
  app.setErrorHandler(
    (error: FastifyError & { validation?: AjvIssue[]; validationContext?: string }, request, reply) => {
      const requestId = request.id;
      if (error instanceof ProblemError) {
        const body = problemBody(error.status, error.code, error.detail, requestId);
        if (error.extra.errors) body.errors = error.extra.errors;
        return sendProblem(reply, body, error.extra.headers);
      }
      if (error.validation) {
        const location =
          error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
        const errors = fieldErrors(error.validation, location);
        const body = problemBody(400, 'validation_failed', describe(errors), requestId);
        body.errors = errors;
        return sendProblem(reply, body);
      }
      const known = (error.code ? FRAMEWORK_CODES[error.code] : undefined) ?? databaseProblem(error);
      if (known) return sendProblem(reply, problemBody(known[0], known[1], known[2], requestId));
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        const code = (error.code ?? 'bad_request').toLowerCase();
        return sendProblem(reply, problemBody(error.statusCode, code, error.message, requestId));
      }
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(
        reply,
        problemBody(
          500,
          'internal_error',
          'Something went wrong on our side; quote the request id when reporting it.',
          requestId,
        ),
      );
    },
  );

  app.setNotFoundHandler((request, reply) => {
    hooks.onNotFound?.(request, reply);
    return sendProblem(
      reply,
      problemBody(
        404,
        'route_not_found',
        `No route ${request.method} ${request.url.split('?')[0]}.`,
        request.id,
      ),
    );
  });
}

function describe(errors: FieldError[]): string {
  const first = errors[0];
  if (!first) return 'The request is invalid.';
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
  return `${first.path} ${first.message}${more}.`;
}
