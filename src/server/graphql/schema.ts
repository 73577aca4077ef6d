import { readFileSync } from 'node:fs';

/**
 * The GraphQL schema, SDL first: `schema.graphql` beside this file is the one source,
 * read at start (the build copies it into dist/), so what reviewers and code generators read is
 * what the server serves; schema.test.ts checks the running schema against it.
 */
export const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');
