import type {
  ASTNode,
  ASTVisitor,
  DocumentNode,
  FieldNode,
  GraphQLCompositeType,
  GraphQLField,
  GraphQLSchema,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
} from 'graphql';
import * as graphql from './graphql-js.js';
import { GRAPHQL_CODE } from '../errors.js';
import { PAGE_SIZE_MAX } from '../../shared/limits.js';
import { PERMISSION_CATEGORIES, PERMISSIONS } from '../../shared/permissions.js';

/**
 * What a GraphQL request may ask for, all checked before anything executes (the
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
   * Answer bytes: a larger answer is replaced by an error rather than sent. The standard
   * introspection answer is about 55 KiB, a full page of 200 clients with their permissions
   * about 400 KiB.
   */
  responseLimit: 1024 * 1024,
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
  'ClientUsage.buckets': 744,
  'FleetUsage.buckets': 744,
  'ApiClient.recentRefusals': 100,
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

/**
 * Introspection lists, by how long they are on average in this schema: `__schema { types { fields
 * { name } } }` then costs what it yields. Computed once per schema.
 */
const introspectionSizes = new WeakMap<GraphQLSchema, Readonly<Record<string, number>>>();

function introspectionListSizes(schema: GraphQLSchema): Readonly<Record<string, number>> {
  let sizes = introspectionSizes.get(schema);
  if (sizes !== undefined) return sizes;
  const types = Object.values(schema.getTypeMap());
  let fields = 0;
  let args = 0;
  let interfaces = 0;
  let possibleTypes = 0;
  let enumValues = 0;
  let inputFields = 0;
  for (const type of types) {
    if (graphql.isObjectType(type) || graphql.isInterfaceType(type)) {
      const own = Object.values(type.getFields());
      fields += own.length;
      args += own.reduce((sum, field) => sum + field.args.length, 0);
      interfaces += type.getInterfaces().length;
    }
    if (graphql.isAbstractType(type)) possibleTypes += schema.getPossibleTypes(type).length;
    if (graphql.isEnumType(type)) enumValues += type.getValues().length;
    if (graphql.isInputObjectType(type)) inputFields += Object.keys(type.getFields()).length;
  }
  const directives = schema.getDirectives();
  const perType = (count: number) => count / Math.max(types.length, 1);
  sizes = Object.freeze({
    '__Schema.types': types.length,
    '__Schema.directives': directives.length,
    '__Type.fields': perType(fields),
    '__Type.interfaces': perType(interfaces),
    '__Type.possibleTypes': perType(possibleTypes),
    '__Type.enumValues': perType(enumValues),
    '__Type.inputFields': perType(inputFields),
    '__Field.args': args / Math.max(fields, 1),
    '__Directive.args': directives.reduce((sum, directive) => sum + directive.args.length, 0) / Math.max(directives.length, 1),
  });
  introspectionSizes.set(schema, sizes);
  return sizes;
}

/** How many values a field yields per parent: `first` for a page (a variable counts as the maximum), a list's estimated size, else 1. */
function multiplier(schema: GraphQLSchema, parent: GraphQLCompositeType, node: FieldNode, field: GraphQLField<unknown, unknown>): number {
  const first = field.args.find((arg) => arg.name === 'first');
  if (first !== undefined) {
    const argument = node.arguments?.find((arg) => arg.name.value === 'first');
    if (argument === undefined) return typeof first.defaultValue === 'number' ? first.defaultValue : PAGE_SIZE_MAX;
    if (argument.value.kind === graphql.Kind.INT) return Math.max(0, Math.min(Number(argument.value.value), PAGE_SIZE_MAX));
    return PAGE_SIZE_MAX;
  }
  // A connection's page size is counted at the connection field: its edges are that page.
  if (!graphql.isListType(graphql.getNullableType(field.type)) || parent.name.endsWith('Connection')) return 1;
  if (!graphql.isCompositeType(graphql.getNamedType(field.type))) return 1;
  const key = `${parent.name}.${field.name}`;
  if (parent.name.startsWith('__')) return introspectionListSizes(schema)[key] ?? DEFAULT_LIST_SIZE;
  return LIST_SIZES[key] ?? DEFAULT_LIST_SIZE;
}

/**
 * Counts an operation's fields and aliases (fragments expanded) and estimates its cost: every
 * field is 1, times how many values its parent yields. Introspection is counted like any other
 * selection: it reads no database, but 16 aliased `__schema` in each of 10 batched operations
 * made a 7 MiB answer that held the event loop for seconds. Fragments are tallied once each (a
 * fragment spread many times cannot blow the walk up) and a fragment cycle counts as empty (the
 * standard rules reject it).
 */
function tallyOperation(context: ValidationContext, selectionSet: SelectionSetNode, type: GraphQLCompositeType | undefined): Tally {
  const schema = context.getSchema();
  const fragments = new Map<string, Tally>();
  const visiting = new Set<string>();

  const fieldOf = (parent: GraphQLCompositeType | undefined, name: string): GraphQLField<unknown, unknown> | undefined => {
    // The root's meta fields are in no type's field map.
    if (name === '__schema') return graphql.SchemaMetaFieldDef;
    if (name === '__type') return graphql.TypeMetaFieldDef;
    return parent !== undefined && 'getFields' in parent ? parent.getFields()[name] : undefined;
  };

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined): Tally => {
    const tally: Tally = { fields: 0, aliases: 0, cost: 0 };
    for (const selection of set.selections) {
      if (selection.kind === graphql.Kind.FIELD) {
        tally.fields += 1;
        if (selection.alias !== undefined) tally.aliases += 1;
        tally.cost += 1;
        if (selection.selectionSet === undefined) continue;
        const field = fieldOf(parent, selection.name.value);
        const child = field === undefined ? undefined : graphql.getNamedType(field.type);
        const inner = walk(selection.selectionSet, child !== undefined && graphql.isCompositeType(child) ? child : undefined);
        add(tally, inner, field === undefined || parent === undefined ? 1 : multiplier(schema, parent, selection, field));
      } else if (selection.kind === graphql.Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition === undefined ? parent : schema.getType(selection.typeCondition.name.value);
        add(tally, walk(selection.selectionSet, condition !== undefined && graphql.isCompositeType(condition) ? condition : undefined));
      } else {
        const name = selection.name.value;
        const fragment = context.getFragment(name);
        if (fragment === null || fragment === undefined || visiting.has(name)) continue;
        let counted = fragments.get(name);
        if (counted === undefined) {
          visiting.add(name);
          const condition = schema.getType(fragment.typeCondition.name.value);
          counted = walk(fragment.selectionSet, condition !== undefined && graphql.isCompositeType(condition) ? condition : undefined);
          visiting.delete(name);
          fragments.set(name, counted);
        }
        add(tally, counted);
      }
    }
    return tally;
  };
  const tally = walk(selectionSet, type);
  // Introspection lists are averages, so a cost can be fractional.
  return { ...tally, cost: Math.ceil(tally.cost) };
}

/** The errors of a tally over the limits, named after `name` (an operation, or the batch). */
function limitErrors(name: string, tally: Tally, limits: OperationLimits, options: { nodes?: ASTNode } = {}): graphql.GraphQLError[] {
  const errors: graphql.GraphQLError[] = [];
  if (tally.aliases > limits.maxAliases)
    errors.push(new graphql.GraphQLError(`${name} has ${tally.aliases} aliases; at most ${limits.maxAliases} are allowed`, options));
  if (tally.fields > limits.maxFields)
    errors.push(new graphql.GraphQLError(`${name} selects ${tally.fields} fields; at most ${limits.maxFields} are allowed`, options));
  if (tally.cost > limits.maxCost) {
    errors.push(
      new graphql.GraphQLError(
        `${name} costs an estimated ${tally.cost}; at most ${limits.maxCost} is allowed (ask for smaller pages or fewer fields)`,
        options,
      ),
    );
  }
  return errors;
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
      for (const error of limitErrors(operation.name?.value ?? 'the operation', tally, limits, { nodes: operation })) context.reportError(error);
      return false;
    },
  });
}

/**
 * The summed tally of every operation of the documents of one batched request: the operations
 * run side by side, so they share one budget (ten operations each just under the limit are ten
 * times the work one request may ask for). Errors over the limits; none when within them.
 */
export function batchLimitErrors(schema: GraphQLSchema, documents: readonly DocumentNode[], limits: OperationLimits): graphql.GraphQLError[] {
  const total: Tally = { fields: 0, aliases: 0, cost: 0 };
  const tallyRule: ValidationRule = (context) => ({
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation) ?? undefined;
      add(total, tallyOperation(context, operation.selectionSet, root));
      return false;
    },
  });
  for (const document of documents) graphql.validate(schema, document, [tallyRule]);
  return limitErrors('the batch', total, limits);
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
        new graphql.GraphQLError('a string must not contain the NUL character (U+0000)', { nodes: node, extensions: { code: GRAPHQL_CODE.bad_input } }),
      );
    }
  },
});
