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

/** Issues carried in an error, at most: a hostile input must not make a huge error body. */
const maxIssues = 100;

function unwrap(definition: AnyJobDefinition, result: StandardSchemaV1.Result<unknown>): unknown {
  if (result.issues) {
    const issues = result.issues.slice(0, maxIssues).map((issue) => ({
      message: issue.message,
      path: (issue.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment)),
    }));
    const listed = issues.map((issue) => `${pathText(issue.path)}: ${issue.message}`).join('; ');
    const more = result.issues.length > issues.length ? ` (and ${result.issues.length - issues.length} more)` : '';
    throw new InputError('INPUT_INVALID', `Input for ${definition.name} is invalid: ${listed}${more}`, {
      details: { issues, issueCount: result.issues.length },
    });
  }
  return result.value;
}

/** `items[2].width` for a path, `(input)` for the input itself. */
function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(input)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
