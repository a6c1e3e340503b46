/**
 * The routes' contract in one place: each route is mounted with `route(group, operation, handler)`,
 * the operation giving its method, path, summary and the zod schemas of its inputs and responses;
 * its inputs are validated with those schemas (`validate`), and the same schemas give /openapi.json,
 * so the document cannot drift from what the Worker accepts.
 *
 * The schemas are zod/mini (src/core/zod.ts): unlike zod's classic API, it tree-shakes, and the
 * classic `z` namespace cost ~30-40 ms of script startup at every cold start (docs/BENCHMARKS.md).
 * The document is written by zod's own JSON Schema generator, on the first GET /openapi.json.
 */
import type { Context, Env, Hono, MiddlewareHandler, ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import * as z from '../core/zod';
import { validationError } from './validation';

/** What the document shows of a schema: a component `id`, and OpenAPI keywords merged into it. */
export interface SchemaMeta {
  id?: string;
  description?: string;
  example?: unknown;
  [keyword: string]: unknown;
}

/** Schemas with a name or a description in the document. */
export const apiSchemas = z.registry<SchemaMeta>();

/** `schema`, listed in the document under `id` (components.schemas) and referenced by it. */
export function named<S extends z.ZodMiniType>(id: string, schema: S, meta: Omit<SchemaMeta, 'id'> = {}): S {
  apiSchemas.add(schema, { id, ...meta });
  return schema;
}

/** A copy of `schema` that the document describes with `meta` (the original is left as it was). */
export function documented<S extends z.ZodMiniType>(schema: S, meta: Omit<SchemaMeta, 'id'>): S {
  const copy = schema.clone() as S;
  apiSchemas.add(copy, meta);
  return copy;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodMiniType;
}

export interface Operation {
  method: 'get' | 'post';
  /** Hono's form, `/v1/items/:itemId/similar`. */
  path: string;
  summary: string;
  security?: 'bearer';
  body?: z.ZodMiniType;
  params?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  headers?: z.ZodMiniObject;
  responses: Record<number, ResponseDoc>;
}

const operations: Operation[] = [];

/**
 * Declares a route for the document. Throws (at module load, so every test run notices) when the
 * document would be wrong: a path parameter without a schema, or a header schema whose name is not
 * lowercase (Hono's header validator sees names lowercased, so `Idempotency-Key` would always read
 * as absent).
 */
function operation(op: Operation): void {
  const shape = (s: z.ZodMiniObject | undefined) => Object.keys(s?._zod.def.shape ?? {});
  const params = shape(op.params);
  for (const [, name] of op.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    if (!params.includes(name!)) throw new Error(`operation ${op.method} ${op.path}: no schema for path parameter ${name}`);
  }
  for (const name of shape(op.headers)) {
    if (name !== name.toLowerCase()) throw new Error(`operation ${op.method} ${op.path}: header ${name} must be written in lowercase`);
  }
  operations.push(op);
}

/** What `c.req.valid(target)` gives a route's handler: the parsed value of each input `op` declares. */
type Validated<O extends Operation> = (O['query'] extends z.ZodMiniObject ? { query: z.output<O['query']> } : {}) &
  (O['params'] extends z.ZodMiniObject ? { param: z.output<O['params']> } : {}) &
  (O['headers'] extends z.ZodMiniObject ? { header: z.output<O['headers']> } : {}) &
  (O['body'] extends z.ZodMiniType ? { json: z.output<O['body']> } : {});

/**
 * A route of `group` as `op` declares it: listed in the document, mounted at `op.method` and
 * `op.path`, its inputs validated before `handler` runs. Always in one order, the one
 * @hono/zod-openapi used (query, path, headers, body), so with two bad inputs the 400 names the
 * same field whatever the route.
 */
export function route<E extends Env, const O extends Operation>(
  group: Hono<E>,
  op: O,
  handler: (c: Context<E, string, { out: Validated<O> }>) => Response | Promise<Response>,
): void {
  operation(op);
  const checks: MiddlewareHandler[] = [];
  if (op.query) checks.push(validate('query', op.query));
  if (op.params) checks.push(validate('param', op.params));
  if (op.headers) checks.push(validate('header', op.headers));
  if (op.body) checks.push(validate('json', op.body));
  group.on(op.method.toUpperCase(), [op.path], ...(checks as MiddlewareHandler<E>[]), handler as unknown as MiddlewareHandler<E>);
}

/**
 * Hono's validator for `target`, checking with `schema`: the parsed value is what `c.req.valid`
 * gives; a failure throws the API's 400, whose details name each offending field.
 */
export function validate<T extends keyof ValidationTargets, S extends z.ZodMiniType, E extends Env = Env, P extends string = string>(
  target: T,
  schema: S,
): MiddlewareHandler<E, P, { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }> {
  return validator(target, (value: unknown, _c: Context) => {
    const result = schema.safeParse(value);
    if (!result.success) throw validationError(result.error, target);
    return result.data as z.output<S>;
  }) as unknown as MiddlewareHandler<E, P, { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }>;
}

const COMPONENT = '#/components/schemas/';
type JsonSchema = Record<string, unknown>;

/**
 * How zod writes the schemas: as clients send them (`io: 'input'`: a field with a default is
 * optional), with our descriptions, and without the safe-integer bounds every `z.int()` carries.
 * A `default` we document stays (zod drops defaults from the input side of a transform, like the
 * `k` of a query string).
 */
const GENERATOR = {
  io: 'input',
  metadata: apiSchemas,
  unrepresentable: 'any',
  override: ({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: JsonSchema }) => {
    if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    const documentedDefault = apiSchemas.get(zodSchema as z.ZodMiniType)?.default;
    if (documentedDefault !== undefined) jsonSchema.default = documentedDefault;
  },
} as const;

/** A schema as the document shows it: a `$ref` when it is named, else inline (named parts by `$ref`). */
function jsonSchema(schema: z.ZodMiniType): JsonSchema {
  const id = apiSchemas.get(schema)?.id;
  if (id) return { $ref: COMPONENT + id };
  const { $schema: _dialect, $defs: _defs, ...inline } = z.toJSONSchema(schema, GENERATOR) as JsonSchema;
  // Named parts went to $defs; they are all in components.schemas, under the same ids.
  return JSON.parse(JSON.stringify(inline).replaceAll('"#/$defs/', `"${COMPONENT}`)) as JsonSchema;
}

/** The parameters of one location, from the object schema that validates them. */
function parameters(location: 'path' | 'query' | 'header', schema: z.ZodMiniObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema._zod.def.shape).map(([name, field]) => ({
    name,
    in: location,
    required: location === 'path' || (field as z.ZodMiniType)._zod.optin !== 'optional',
    schema: jsonSchema(field as z.ZodMiniType),
  }));
}

const json = (schema: z.ZodMiniType) => ({ 'application/json': { schema: jsonSchema(schema) } });

/** Headers every response carries (API.md): the request id always, the model version once one is loaded. */
const RESPONSE_HEADERS = {
  'x-request-id': {
    description: 'This request, echoed when the client sent a well-formed one.',
    schema: { type: 'string' },
    required: true,
  },
  'x-model-version': { description: 'The model version that answered, once a model is loaded.', schema: { type: 'string' } },
};

/** The OpenAPI 3.1 document of every declared operation. */
export function openApiDocument(info: { title: string; version: string; description?: string }) {
  const { schemas } = z.toJSONSchema(apiSchemas, { ...GENERATOR, uri: (id) => COMPONENT + id });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = op.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...parameters('path', op.params), ...parameters('query', op.query), ...parameters('header', op.headers)];
    (paths[path] ??= {})[op.method] = {
      summary: op.summary,
      ...(op.security ? { security: [{ [op.security]: [] }] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: json(op.body) } } : {}),
      responses: Object.fromEntries(
        Object.entries(op.responses).map(([status, r]) => [
          status,
          { description: r.description, headers: RESPONSE_HEADERS, ...(r.schema ? { content: json(r.schema) } : {}) },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, $schema: _dialect, ...s }]) => [id, s])),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
