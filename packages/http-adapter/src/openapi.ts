import swagger from '@fastify/swagger';
import type { AnyJobDefinition } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import type { AuthOptions } from './auth-hook.js';

/**
 * What a route without a fastify schema says about itself (in its `config.openapi`): the
 * document's operation for it is derived from this by `openApiTransform`.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** Status → description; problem statuses get the problem+json schema. */
  responses: Record<number, string>;
  /** The response media type of the success statuses. Default application/json. */
  produces?: string;
  headers?: Record<string, string>;
  /** Status → the JSON Schema of that success answer's body (default: any JSON). */
  schemas?: Record<number, Record<string, unknown>>;
}

/** What the submit routes carry in `config` besides their fastify schema: the doc-only parts. */
export interface SubmitDoc {
  /** The job: its input schema becomes the JSON body's, its `accepts` the binary media types. */
  job: AnyJobDefinition;
  /** Error statuses → description (problem+json bodies, written by the error handler). */
  problems: Record<number, string>;
  /** False when the job takes no body at all (no schema, or one that accepts `undefined`). */
  bodyRequired: boolean;
  /** Byte bounds of the bodies, as enforced (413 beyond). */
  jsonBodyBytes: number;
  blobBytes: number;
  jsonDepth: number;
}

/** What the batch routes carry in `config` besides their fastify schema: the body a schema cannot state. */
export interface BatchDoc {
  /** One item's JSON Schema (`{ input, idempotencyKey? }`). */
  item: Record<string, unknown>;
  /** Items one request may carry (413 BATCH_TOO_LARGE beyond). */
  maxItems: number;
  bodyBytes: number;
  jsonDepth: number;
  /** Error statuses → description. */
  problems: Record<number, string>;
}

export interface OpenApiOptions {
  title: string;
  version: string;
  /** Fixed `servers`; default: the origin the document was fetched from. */
  servers?: readonly { url: string; description?: string }[] | undefined;
  auth: AuthOptions | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's operation in the OpenAPI document, for routes without a fastify schema. */
    openapi?: RouteDoc;
    /** A submit route's doc-only parts. */
    submit?: SubmitDoc;
    /** A batch submit route's doc-only parts. */
    batch?: BatchDoc;
  }
}

export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'array', items: { type: ['string', 'integer'] } }, message: { type: 'string' } },
      },
    },
    retryAfter: { type: 'integer', minimum: 1 },
  },
} as const;

const problemRef = { $ref: '#/components/schemas/Problem' };
const retryAfter = { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying' };
/** Statuses whose answers always carry `Retry-After` (sendProblem adds it). */
const retried = new Set([409, 429, 503]);

/**
 * Registers `@fastify/swagger` in the plugin's scope, so that the document is derived from the
 * routes the plugin registers: their fastify schemas (headers, response bodies and headers, which
 * fastify enforces and serialises) and, for what a schema cannot carry, their `config`: the
 * submit routes' body comes from the job's own Standard Schema (the one the core validates
 * with) and its `accepts` list; problem answers from the error table.
 *
 * @example
 * await registerOpenApi(scope, { title: 'jobs', version: '1', auth: undefined });
 */
export async function registerOpenApi(scope: FastifyInstance, options: OpenApiOptions): Promise<void> {
  const securitySchemes = options.auth
    ? {
        apiKey: { type: 'apiKey' as const, in: 'header' as const, name: (options.auth.header ?? 'x-api-key').toLowerCase() },
        bearer: { type: 'http' as const, scheme: 'bearer' },
      }
    : undefined;
  await scope.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, version: options.version },
      components: { schemas: { Problem: structuredClone(problemSchema) as never }, ...(securitySchemes ? { securitySchemes } : {}) },
    },
    transform: ({ schema, url, route }) => ({ schema: openApiTransform(schema, route, securitySchemes !== undefined), url }),
  });
}

const optionalBody = 'x-body-optional';

/** The document as served: `servers` is the configured list, or the origin of this request. */
export function openApiDocument(app: FastifyInstance, request: FastifyRequest, servers: OpenApiOptions['servers']): Record<string, unknown> {
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> };
  // swagger() builds once and caches: this runs on the cached object, and only once per operation.
  for (const operations of Object.values(doc.paths)) {
    for (const operation of Object.values(operations)) {
      if (operation[optionalBody] !== true) continue;
      delete operation[optionalBody];
      (operation['requestBody'] as { required: boolean }).required = false;
    }
  }
  const list = servers ?? [{ url: `${request.protocol}://${request.host}` }];
  return { ...doc, servers: list };
}

type Transformable = FastifySchema & Record<string, unknown>;

/** One route's schema as the document states it (the route's own schema is never changed). */
export function openApiTransform(schema: FastifySchema | undefined, route: RouteOptions, secured: boolean): Transformable {
  const config = route.config ?? {};
  if (config.submit) return submitOperation(schema ?? {}, config.submit, secured);
  if (config.batch) return batchOperation(schema ?? {}, config.batch, secured);
  if (config.openapi) return documentedOperation(config.openapi, route.url, secured, schema);
  // Routes that say nothing about themselves (the fallback of unknown job names, the dashboard)
  // are not part of the contract.
  return { ...schema, hide: true };
}

function submitOperation(schema: FastifySchema, doc: SubmitDoc, secured: boolean): Transformable {
  const { job } = doc;
  const json = inputSchema(job);
  const content: Record<string, unknown> = { 'application/json': { schema: json } };
  const limits: Record<string, unknown> = {
    // The JSON parser refuses prototype-poisoning keys anywhere in a body (400), whatever the schema.
    'application/json': { maxBytes: doc.jsonBodyBytes, maxDepth: doc.jsonDepth, forbiddenKeys: ['__proto__', 'constructor.prototype'] },
  };
  for (const type of job.accepts ?? []) {
    content[type] = { schema: { type: 'string', contentMediaType: type } };
    limits[type] = { maxBytes: doc.blobBytes };
  }
  const binary = job.accepts && job.accepts.length > 0;
  const out: Transformable = {
    ...schema,
    description:
      `JSON bodies of at most ${doc.jsonBodyBytes} bytes nested at most ${doc.jsonDepth} deep, without \`__proto__\` or \`constructor.prototype\` keys, validated by the job's schema (422 with every issue).` +
      (binary
        ? ` Binary bodies (${job.accepts!.join(', ')}) of at most ${doc.blobBytes} bytes are streamed to the blob store; the job gets { blob }.`
        : ' Binary bodies are refused (415).'),
    body: { content },
    // Enforced bounds a JSON Schema cannot state about a body: 413 (bytes), 400 (depth) beyond.
    'x-body-limits': limits,
    response: { ...(schema.response as Record<string, unknown>), ...problemResponses(doc.problems) },
  };
  if (secured) out['security'] = [{ apiKey: [] }, { bearer: [] }];
  // @fastify/swagger marks every body required; openApiDocument turns this mark into `required: false`.
  if (!doc.bodyRequired) out[optionalBody] = true;
  return out;
}

/** The batch body: a JSON array of items, or NDJSON with one item a line (`x-ndjson-item`). */
function batchOperation(schema: FastifySchema, doc: BatchDoc, secured: boolean): Transformable {
  const { item } = doc;
  const out: Transformable = {
    ...schema,
    description:
      `1 to ${doc.maxItems} items (413 BATCH_TOO_LARGE beyond), at most ${doc.bodyBytes} bytes, as a JSON array or NDJSON (one item a line), ` +
      "each input validated by the job's schema and answered on its own, in one store call.",
    body: {
      content: {
        'application/json': { schema: { type: 'array', minItems: 1, maxItems: doc.maxItems, items: item } },
        // OpenAPI 3.1 has no item schema for a stream of JSON values (3.2's `itemSchema`): an extension says it.
        'application/x-ndjson': { schema: { type: 'string', contentMediaType: 'application/x-ndjson', 'x-ndjson-item': item } },
      },
    },
    'x-body-limits': {
      'application/json': { maxBytes: doc.bodyBytes, maxDepth: doc.jsonDepth, forbiddenKeys: ['__proto__', 'constructor.prototype'] },
      'application/x-ndjson': { maxBytes: doc.bodyBytes, maxDepth: doc.jsonDepth, forbiddenKeys: ['__proto__', 'constructor.prototype'] },
    },
    response: { ...(schema.response as Record<string, unknown>), ...problemResponses(doc.problems) },
  };
  if (secured) out['security'] = [{ apiKey: [] }, { bearer: [] }];
  return out;
}

function documentedOperation(doc: RouteDoc, url: string, secured: boolean, schema: FastifySchema | undefined): Transformable {
  const response: Record<string, unknown> = {};
  // A route with a fastify schema states its body and responses with the schemas that validate and serialise them.
  const schemas = (schema?.response ?? {}) as Record<string, unknown>;
  for (const [status, description] of Object.entries(doc.responses)) {
    const code = Number(status);
    if (code >= 400) Object.assign(response, problemResponses({ [code]: description }));
    else if (code === 204) response[status] = { description };
    else
      response[status] = { description, content: { [doc.produces ?? 'application/json']: { schema: schemas[status] ?? doc.schemas?.[code] ?? {} } } };
  }
  const params = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const out: Transformable = { summary: doc.summary, response };
  if (doc.description) out.description = doc.description;
  if (doc.tags) out.tags = doc.tags;
  if (schema?.body) out.body = schema.body;
  // A querystring schema the route enforces is stated as it is.
  if (schema?.querystring) out.querystring = schema.querystring;
  if (params.length > 0) {
    out.params = { type: 'object', required: params, properties: Object.fromEntries(params.map((name) => [name, { type: 'string' }])) };
  }
  if (secured && (doc.tags?.includes('jobs') || doc.tags?.includes('admin'))) out['security'] = [{ apiKey: [] }, { bearer: [] }];
  return out;
}

function problemResponses(problems: Record<number, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(problems)) {
    const code = Number(status);
    out[status] = {
      description,
      content: { 'application/problem+json': { schema: problemRef } },
      ...(retried.has(code) ? { headers: { 'Retry-After': retryAfter } } : {}),
    };
  }
  return out;
}

/**
 * The job's input as JSON Schema, through the Standard JSON Schema interface when present;
 * `{}` (any JSON) otherwise.
 *
 * @example
 * inputSchema(sleep); // { type: 'object', properties: { ms: { type: 'integer', ... } }, required: ['ms'] }
 */
export function inputSchema(job: AnyJobDefinition): Record<string, unknown> {
  const standard = (job.schema as { '~standard'?: { jsonSchema?: { input?: (o: { target: string }) => Record<string, unknown> } } } | undefined)?.[
    '~standard'
  ];
  const convert = standard?.jsonSchema?.input;
  if (typeof convert !== 'function') return {};
  try {
    const { $schema: _ignored, ...schema } = convert({ target: 'draft-2020-12' });
    return schema;
  } catch {
    return {};
  }
}
