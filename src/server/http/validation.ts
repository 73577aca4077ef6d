import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv and ajv-formats are CommonJS with `default` exports.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function makeAjv(coerceTypes: boolean | 'array') {
  // Unknown properties are an error naming the field, never silently dropped; all errors at once.
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes, strict: false });
  addFormats(ajv);
  return ajv;
}

const strict = makeAjv(false);
const coercing = makeAjv('array');

/** The JSON pointer of the first string in `data` holding U+0000, or null. */
export function nulAt(data: unknown, pointer: string): string | null {
  if (typeof data === 'string') return data.includes('\u0000') ? pointer : null;
  if (typeof data !== 'object' || data === null) return null;
  for (const [key, value] of Object.entries(data)) {
    const found = nulAt(value, `${pointer}/${key}`);
    if (found !== null) return found;
  }
  return null;
}

/**
 * The JSON pointer of the first string in `data` holding an unpaired UTF-16 surrogate (JSON can
 * carry `\ud800` alone), or null: no UTF-8 column can store it, and PostgreSQL's jsonb refuses
 * its escape, so a sign-in with `\ud800@example.com` was a 500.
 */
export function loneSurrogateAt(data: unknown, pointer: string): string | null {
  if (typeof data === 'string') return /[\ud800-\udfff]/u.test(data) ? pointer : null;
  if (typeof data !== 'object' || data === null) return null;
  for (const [key, value] of Object.entries(data)) {
    const found = loneSurrogateAt(value, `${pointer}/${key}`);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Bodies are validated as sent (a number is not a name); query strings and path parameters are
 * text on the wire and are coerced to the schema's types.
 *
 * No string may hold U+0000 (JSON can carry `\u0000`, `%00` in a query): PostgreSQL text cannot
 * store it, and no name, email, description or search needs it. Refused here, once for every
 * route, as a 400 naming the field; found by the random-input test as a 500 on PostgreSQL.
 */
export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? strict : coercing).compile(schema);
  const check = (data: unknown): boolean => {
    if (!validate(data)) {
      check.errors = validate.errors;
      return false;
    }
    const at = nulAt(data, '');
    const surrogate = at === null ? loneSurrogateAt(data, '') : null;
    if (at !== null) {
      check.errors = [{ instancePath: at, schemaPath: '#', keyword: 'nul', params: {}, message: 'must not contain the NUL character (U+0000)' }];
    } else if (surrogate !== null) {
      check.errors = [
        { instancePath: surrogate, schemaPath: '#', keyword: 'surrogate', params: {}, message: 'must be well-formed Unicode (no unpaired surrogate)' },
      ];
    } else check.errors = null;
    return at === null && surrogate === null;
  };
  check.errors = null as ErrorObject[] | null | undefined;
  return check as ReturnType<FastifySchemaCompiler<object>>;
};
