/**
 * The GraphQL schema (CONTRACT §7), SDL first. `schema.graphql` beside this file is its printed
 * form for integrators and code generators; schema.test.ts fails when the two differ.
 */
export const typeDefs = /* GraphQL */ `
  """
  The Koios Access GraphQL API (CONTRACT §7): the same capabilities as REST v1, over the same services.
  Every field needs an authenticated principal (a bearer token, or the console's session); each field
  then checks its own permission and answers FORBIDDEN without it.
  """
  schema {
    query: Query
    mutation: Mutation
  }

  """
  An instant, as ISO 8601 text in UTC with milliseconds, e.g. 2026-01-31T12:00:00.000Z.
  """
  scalar DateTime

  """
  A JSON object, as in the audit log's details. Output only.
  """
  scalar JSONObject

  type Query {
    """
    The caller and what it may do on this request. Needs no permission.
    """
    me: Me!

    """
    API clients, keyset-paginated. Needs clients:read.
    """
    apiClients(
      """
      How many clients per page, 1 to 200.
      """
      first: Int = 50

      """
      The cursor of the edge to continue after (an edge's cursor or pageInfo.endCursor).
      """
      after: String
      filter: ApiClientFilter
      orderBy: ApiClientOrder = CREATED_AT_DESC
    ): ApiClientConnection

    """
    One API client. Needs clients:read.
    """
    apiClient(id: ID!): ApiClient

    """
    Every role, by name. Needs roles:read.
    """
    roles: [Role!]

    """
    One role. Needs roles:read.
    """
    role(id: ID!): Role

    """
    The permission catalog, grouped by category. Needs no permission.
    """
    permissionCategories: [PermissionCategory!]!

    """
    Console users, by email. Needs users:read.
    """
    users(
      """
      How many users per page, 1 to 200.
      """
      first: Int = 50
      after: String
    ): UserConnection

    """
    One console user. Needs users:read.
    """
    user(id: ID!): User

    """
    The audit log, newest first. Needs audit:read.
    """
    auditEvents(
      """
      How many events per page, 1 to 200.
      """
      first: Int = 50
      after: String
    ): AuditEventConnection
  }

  type Mutation {
    """
    Creates an API client and returns its secret, once. Needs clients:create; a roleId also needs
    roles:assign and every permission of the role.
    """
    createApiClient(input: CreateApiClientInput!): ApiClientWithSecret

    """
    Renames, describes, enables or disables a client, or changes its role. name, description and
    enabled need clients:update; roleId needs roles:assign and every permission of the old and new role.
    """
    updateApiClient(id: ID!, input: UpdateApiClientInput!): ApiClient

    """
    Replaces the client secret: the old secret and its tokens stop working at once. Needs
    clients:secrets and every permission of the client's role.
    """
    regenerateApiClientSecret(id: ID!): ApiClientWithSecret

    """
    Enables or disables up to 1,000 clients in one transaction. Needs clients:update.
    """
    setApiClientsEnabled(ids: [ID!]!, enabled: Boolean!): BulkApiClientsResult

    """
    Deletes up to 1,000 clients in one transaction; their tokens stop working. Needs clients:delete.
    """
    deleteApiClients(ids: [ID!]!): BulkApiClientsResult

    """
    Creates a custom role. Needs roles:write and every permission the role grants.
    """
    createRole(input: CreateRoleInput!): Role

    """
    Edits a custom role (built-in roles cannot change). Needs roles:write and every permission the
    role grants, before and after.
    """
    updateRole(id: ID!, input: UpdateRoleInput!): Role

    """
    Deletes a custom role, unassigning it from its clients and users. Returns the deleted role's id.
    Needs roles:write and every permission the role grants.
    """
    deleteRole(id: ID!): ID

    """
    Creates a console user. Needs users:write; roleIds also need roles:assign and every permission of
    each role.
    """
    createUser(input: CreateUserInput!): User

    """
    Edits a console user. Needs users:write (roleIds alone: roles:assign) and every permission the
    user holds.
    """
    updateUser(id: ID!, input: UpdateUserInput!): User

    """
    Deletes a console user and ends their sessions. Returns the deleted user's id. Needs users:write
    and every permission the user holds.
    """
    deleteUser(id: ID!): ID
  }

  """
  Who is calling.
  """
  type Me {
    type: PrincipalType!
    id: ID!
    name: String!

    """
    The permission keys the caller holds on this request.
    """
    permissions: [String!]!
  }

  enum PrincipalType {
    USER
    CLIENT
  }

  """
  Relay connection metadata. Pagination is forward only: hasPreviousPage is always false.
  """
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  """
  A machine identity that obtains access tokens with the client credentials grant.
  """
  type ApiClient {
    """
    The client ID (a UUID).
    """
    id: ID!
    name: String!
    description: String
    enabled: Boolean!
    role: RoleSummary

    """
    Identifies the current secret without revealing it.
    """
    secretHint: String!
    lastUsedAt: DateTime
    createdAt: DateTime!
    updatedAt: DateTime!

    """
    The client's effective permissions: the whole catalog by category, each with granted.
    """
    permissions: [GrantedPermissionCategory!]
  }

  input ApiClientFilter {
    """
    Matches the name, the description or the client ID, case-insensitively.
    """
    search: String
    status: ApiClientStatus
  }

  enum ApiClientStatus {
    ENABLED
    DISABLED
  }

  enum ApiClientOrder {
    NAME_ASC
    NAME_DESC
    CREATED_AT_ASC
    CREATED_AT_DESC
    LAST_USED_AT_ASC
    LAST_USED_AT_DESC
  }

  type ApiClientConnection {
    edges: [ApiClientEdge!]!
    pageInfo: PageInfo!

    """
    How many clients match the filter, on every page.
    """
    totalCount: Int!
  }

  type ApiClientEdge {
    cursor: String!
    node: ApiClient!
  }

  type ApiClientWithSecret {
    apiClient: ApiClient!

    """
    Shown once: only a keyed hash of it is stored.
    """
    clientSecret: String!
  }

  type BulkApiClientsResult {
    succeeded: [ID!]!
    notFound: [ID!]!
  }

  input CreateApiClientInput {
    name: String!
    description: String
    roleId: ID
  }

  """
  Every field is optional; roleId: null removes the role, description: null clears it.
  """
  input UpdateApiClientInput {
    name: String
    description: String
    enabled: Boolean
    roleId: ID
  }

  """
  A role as referenced from a client or a user.
  """
  type RoleSummary {
    id: ID!
    name: String!
  }

  type Role {
    id: ID!
    name: String!
    description: String!

    """
    Administrator and Viewer are built in, and cannot be edited or deleted.
    """
    builtIn: Boolean!

    """
    The permission keys the role grants.
    """
    permissions: [String!]!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  input CreateRoleInput {
    name: String!
    description: String
    permissions: [String!]!
  }

  input UpdateRoleInput {
    name: String
    description: String
    permissions: [String!]
  }

  type Permission {
    key: String!
    name: String!
    description: String!
  }

  type PermissionCategory {
    name: String!
    permissions: [Permission!]!
  }

  type GrantedPermission {
    key: String!
    name: String!
    description: String!
    granted: Boolean!
  }

  type GrantedPermissionCategory {
    name: String!
    permissions: [GrantedPermission!]!
  }

  """
  A person who signs in to the console.
  """
  type User {
    id: ID!
    email: String!
    name: String!
    enabled: Boolean!
    roles: [RoleSummary!]!
    lastLoginAt: DateTime
    createdAt: DateTime!
    updatedAt: DateTime!

    """
    The user's effective permissions (the union of their roles'), by category.
    """
    permissions: [GrantedPermissionCategory!]
  }

  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type UserEdge {
    cursor: String!
    node: User!
  }

  input CreateUserInput {
    email: String!
    name: String
    password: String!
    roleIds: [ID!]
  }

  """
  Every field is optional; roleIds replaces the user's roles.
  """
  input UpdateUserInput {
    email: String
    name: String
    enabled: Boolean
    password: String
    roleIds: [ID!]
  }

  type AuditEvent {
    id: ID!
    occurredAt: DateTime!
    actor: AuditActor!

    """
    What happened, e.g. client.created or role.updated.
    """
    action: String!
    target: AuditTarget
    details: JSONObject!
  }

  type AuditActor {
    type: AuditActorType!

    """
    Null for the system (the CLI and start-up tasks).
    """
    id: ID
    name: String!
  }

  enum AuditActorType {
    SYSTEM
    USER
    CLIENT
  }

  type AuditTarget {
    type: AuditTargetType!
    id: ID
    name: String
  }

  enum AuditTargetType {
    CLIENT
    ROLE
    USER
    SYSTEM
  }

  type AuditEventConnection {
    edges: [AuditEventEdge!]!
    pageInfo: PageInfo!
  }

  type AuditEventEdge {
    cursor: String!
    node: AuditEvent!
  }
`;
