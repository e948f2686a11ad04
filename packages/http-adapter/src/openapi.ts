import type { AnyJobDefinition } from '@scalable-api/core';

/** What a route says about itself (in its `config.openapi`); the document is built from these. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** Status → description; problem statuses get the problem+json schema. */
  responses: Record<number, string>;
  /** The response media type of the success statuses. Default application/json. */
  produces?: string;
  /** A job submission route: expanded into one operation per registered job. */
  submit?: boolean;
  headers?: Record<string, string>;
}

export interface CollectedRoute {
  method: string;
  url: string;
  doc: RouteDoc;
}

export interface OpenApiInput {
  title: string;
  version: string;
  routes: readonly CollectedRoute[];
  jobs: ReadonlyMap<string, AnyJobDefinition>;
  binaryJobs: ReadonlySet<string> | undefined;
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'array' }, message: { type: 'string' } } } },
    retryAfter: { type: 'integer' },
  },
};

/**
 * An OpenAPI 3.1 document (its schemas are JSON Schema 2020-12, which is what Standard JSON
 * Schema converters emit). The submit route becomes one operation per job, with the job's input
 * schema when its Standard Schema can describe itself; a schema that cannot (or throws) is
 * documented as "any JSON" — validation still happens in the core either way. The plugin serves
 * it at `{prefix}/openapi.json`.
 *
 * @example
 * const doc = buildOpenApi({ title: 'jobs', version: '1', routes, jobs: system.jobs, binaryJobs: undefined });
 */
export function buildOpenApi(input: OpenApiInput): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, operation: unknown) => {
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  };
  for (const route of input.routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    if (route.doc.submit) {
      for (const [name, job] of [...input.jobs].sort(([a], [b]) => a.localeCompare(b))) {
        add(path.replace('{name}', encodeURIComponent(name)), route.method, {
          ...operation(route, `submit_${name.replace(/\W/g, '_')}`),
          summary: `Submit a ${name} job`,
          requestBody: requestBody(job, input.binaryJobs === undefined || input.binaryJobs.has(name)),
          parameters: [
            { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 255 } },
            { name: 'Prefer', in: 'header', schema: { type: 'string', example: 'wait=10' } },
          ],
        });
      }
    } else {
      add(path, route.method, operation(route, operationId(route.method, path)));
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: input.title, version: input.version },
    paths,
    components: { schemas: { Problem: problemSchema } },
  };
}

function operation(route: CollectedRoute, id: string): Record<string, unknown> {
  const params = [...route.url.matchAll(/:(\w+)/g)]
    .map((m) => m[1]!)
    .filter((name) => !(route.doc.submit && name === 'name'))
    .map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(route.doc.responses)) {
    const code = Number(status);
    const media = code >= 400 ? 'application/problem+json' : (route.doc.produces ?? 'application/json');
    const schema = code >= 400 ? { $ref: '#/components/schemas/Problem' } : {};
    responses[status] = { description, content: { [media]: { schema } } };
  }
  const op: Record<string, unknown> = { operationId: id, summary: route.doc.summary, responses };
  if (route.doc.description) op['description'] = route.doc.description;
  if (route.doc.tags) op['tags'] = route.doc.tags;
  if (params.length > 0) op['parameters'] = params;
  return op;
}

function requestBody(job: AnyJobDefinition, binary: boolean): Record<string, unknown> {
  const content: Record<string, unknown> = { 'application/json': { schema: inputSchema(job) } };
  if (binary) {
    content['application/octet-stream'] = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
    content['image/*'] = { schema: { type: 'string', contentMediaType: 'image/*' } };
  }
  return { required: false, content };
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

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/[{}]/g, '').replace(/\W+/g, '_'));
  return [method.toLowerCase(), ...words].join('_');
}
