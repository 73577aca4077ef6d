import type { ASTVisitor, FieldNode, GraphQLCompositeType, GraphQLField, SelectionSetNode, ValidationContext, ValidationRule } from 'graphql';
import { getNamedType, getNullableType, GraphQLError, isCompositeType, isListType, Kind } from './graphql-js.js';
import { GRAPHQL_CODE } from '../errors.js';
import { PAGE_SIZE_MAX } from '../../shared/limits.js';
import { PERMISSION_CATEGORIES, PERMISSIONS } from '../../shared/permissions.js';

/**
 * What a GraphQL request may ask for, all checked before anything executes (SECURITY 25, the
 * OWASP GraphQL Cheat Sheet). Each number is well above what the console and the documented
 * queries need, and well below what would let one request hold the database for long.
 */
export const QUERY_LIMITS = Object.freeze({
  /**
   * Nesting depth, as Mercurius counts it. The deepest data query is 6 (apiClients → edges → node
   * → permissions → permissions → key); the standard introspection query of graphql-js and of
   * code generators is 15, and must keep working for integrators.
   */
  maxDepth: 15,
  /** Aliased fields per operation: each alias resolves its field once more. */
  maxAliases: 30,
  /** Field selections per operation, fragments expanded (the standard introspection query has 229). */
  maxFields: 500,
  /**
   * The estimated number of values an operation resolves (see `costOf`). One full page of 200
   * clients with every field and their permissions is about 17,400.
   */
  maxCost: 25_000,
  /** Lexical tokens in a document: parsing stops there, so a huge document costs little. */
  maxTokens: 5_000,
  /** Operations in one batched request (an array body). */
  maxBatch: 10,
  /** Request body bytes; 1,000 ids in variables (the bulk maximum) take about 40 KiB. */
  bodyLimit: 64 * 1024,
  /**
   * Parsed documents Mercurius keeps, by their text (and as many refused ones): with the body
   * limit, this bounds what a caller sending ever-new documents can make the server hold.
   */
  documentCacheSize: 128,
});

export interface OperationLimits {
  readonly maxAliases: number;
  readonly maxFields: number;
  readonly maxCost: number;
}

/** Lists without `first`, and how long they can be; any other list is assumed to hold 10. */
const LIST_SIZES: Readonly<Record<string, number>> = {
  'Query.roles': 50,
  'Query.permissionCategories': PERMISSION_CATEGORIES.length,
  'ApiClient.permissions': PERMISSION_CATEGORIES.length,
  'User.permissions': PERMISSION_CATEGORIES.length,
  'User.roles': 10,
  'PermissionCategory.permissions': Math.max(...PERMISSION_CATEGORIES.map((name) => PERMISSIONS.filter((p) => p.category === name).length)),
  'GrantedPermissionCategory.permissions': Math.max(...PERMISSION_CATEGORIES.map((name) => PERMISSIONS.filter((p) => p.category === name).length)),
};
const DEFAULT_LIST_SIZE = 10;

interface Tally {
  fields: number;
  aliases: number;
  cost: number;
}

const add = (into: Tally, tally: Tally, times = 1) => {
  into.fields += tally.fields;
  into.aliases += tally.aliases;
  into.cost += tally.cost * times;
};

/** How many values a field yields per parent: `first` for a page (a variable counts as the maximum), a list's estimated size, else 1. */
function multiplier(parent: GraphQLCompositeType, node: FieldNode, field: GraphQLField<unknown, unknown>): number {
  const first = field.args.find((arg) => arg.name === 'first');
  if (first !== undefined) {
    const argument = node.arguments?.find((arg) => arg.name.value === 'first');
    if (argument === undefined) return typeof first.defaultValue === 'number' ? first.defaultValue : PAGE_SIZE_MAX;
    if (argument.value.kind === Kind.INT) return Math.max(0, Math.min(Number(argument.value.value), PAGE_SIZE_MAX));
    return PAGE_SIZE_MAX;
  }
  // A connection's page size is counted at the connection field: its edges are that page.
  if (!isListType(getNullableType(field.type)) || parent.name.endsWith('Connection')) return 1;
  if (!isCompositeType(getNamedType(field.type))) return 1;
  return LIST_SIZES[`${parent.name}.${field.name}`] ?? DEFAULT_LIST_SIZE;
}

/**
 * Counts an operation's fields and aliases (fragments expanded) and estimates its cost: every
 * field is 1, times how many values its parent yields. Introspection is counted in fields and
 * aliases but costs nothing: it reads the schema in memory, never the database. Fragments are
 * tallied once each (a fragment spread many times cannot blow the walk up) and a fragment cycle
 * counts as empty (the standard rules reject it).
 */
function tallyOperation(context: ValidationContext, selectionSet: SelectionSetNode, type: GraphQLCompositeType | undefined): Tally {
  const fragments = new Map<string, Tally>();
  const visiting = new Set<string>();

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, introspection: boolean): Tally => {
    const tally: Tally = { fields: 0, aliases: 0, cost: 0 };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        tally.fields += 1;
        if (selection.alias !== undefined) tally.aliases += 1;
        const name = selection.name.value;
        const inIntrospection = introspection || name.startsWith('__');
        const field = parent !== undefined && 'getFields' in parent ? parent.getFields()[name] : undefined;
        if (!inIntrospection) tally.cost += 1;
        if (selection.selectionSet === undefined) continue;
        const child = field === undefined ? undefined : getNamedType(field.type);
        const inner = walk(selection.selectionSet, child !== undefined && isCompositeType(child) ? child : undefined, inIntrospection);
        add(tally, inner, field === undefined || parent === undefined || inIntrospection ? 1 : multiplier(parent, selection, field));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition === undefined ? parent : context.getSchema().getType(selection.typeCondition.name.value);
        add(tally, walk(selection.selectionSet, condition !== undefined && isCompositeType(condition) ? condition : undefined, introspection));
      } else {
        const name = selection.name.value;
        const fragment = context.getFragment(name);
        if (fragment === null || fragment === undefined || visiting.has(name)) continue;
        let counted = fragments.get(name);
        if (counted === undefined) {
          visiting.add(name);
          const condition = context.getSchema().getType(fragment.typeCondition.name.value);
          counted = walk(fragment.selectionSet, condition !== undefined && isCompositeType(condition) ? condition : undefined, introspection);
          visiting.delete(name);
          fragments.set(name, counted);
        }
        add(tally, counted);
      }
    }
    return tally;
  };
  return walk(selectionSet, type, false);
}

/**
 * A validation rule refusing an operation over the alias, field or cost limit. Run it before the
 * standard rules (see graphql.plugin.ts): some of those are quadratic in the number of fields.
 */
export function operationLimitsRule(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation) ?? undefined;
      const tally = tallyOperation(context, operation.selectionSet, root);
      const name = operation.name?.value ?? 'the operation';
      if (tally.aliases > limits.maxAliases) {
        context.reportError(new GraphQLError(`${name} has ${tally.aliases} aliases; at most ${limits.maxAliases} are allowed`, { nodes: operation }));
      }
      if (tally.fields > limits.maxFields) {
        context.reportError(new GraphQLError(`${name} selects ${tally.fields} fields; at most ${limits.maxFields} are allowed`, { nodes: operation }));
      }
      if (tally.cost > limits.maxCost) {
        context.reportError(
          new GraphQLError(`${name} costs an estimated ${tally.cost}; at most ${limits.maxCost} is allowed (ask for smaller pages or fewer fields)`, {
            nodes: operation,
          }),
        );
      }
      return false;
    },
  });
}

/**
 * No string literal in a document may hold U+0000 (written `\u0000` in GraphQL): PostgreSQL text
 * cannot store it, and the insert failed as a 500. Variables are refused at the body's validation
 * (http/validation.ts), as every REST body is.
 */
export const nulFreeStringsRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  StringValue(node) {
    if (node.value.includes('\u0000')) {
      context.reportError(
        new GraphQLError('a string must not contain the NUL character (U+0000)', { nodes: node, extensions: { code: GRAPHQL_CODE.bad_input } }),
      );
    }
  },
});
