import { createRequire } from 'node:module';

/**
 * graphql-js, the very copy Mercurius uses. graphql ships a CommonJS build (what Mercurius
 * `require`s, and what Node's ESM loader picks, from `main`) and an ES module build (what
 * Vite-based tools such as Vitest pick, from `module`). Two copies mean two sets of classes, and
 * graphql's `instanceof` checks refuse a schema or an error from the other one; requiring it here
 * gives the server one copy under every runner.
 */
const graphql = createRequire(import.meta.url)('graphql') as typeof import('graphql');

export const {
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  validate,
  valueFromASTUntyped,
} = graphql;
export type GraphQLError = import('graphql').GraphQLError;
