import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InputError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';

/**
 * Checks input against the job's Standard Schema (zod, valibot, typebox, ...) and returns the
 * parsed value. Returns synchronously when the schema does, which is the common case, so a submit
 * pays no extra promise for it.
 */
export function validateInput(definition: AnyJobDefinition, input: unknown): unknown {
  const schema = definition.schema;
  if (!schema) return input;
  const result = schema['~standard'].validate(input);
  if (result instanceof Promise) return result.then((r) => unwrap(definition, r));
  return unwrap(definition, result);
}

function unwrap(definition: AnyJobDefinition, result: StandardSchemaV1.Result<unknown>): unknown {
  if (result.issues) {
    const issues = result.issues.slice(0, 20).map((issue) => ({
      message: issue.message,
      path: issue.path?.map((segment) => (typeof segment === 'object' ? segment.key : segment)),
    }));
    throw new InputError('INPUT_INVALID', `Input for ${definition.name} is invalid: ${issues[0]?.message ?? 'unknown issue'}`, {
      details: { issues },
    });
  }
  return result.value;
}
