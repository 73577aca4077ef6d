import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { Unauthenticated } from '../../errors.js';
import { checkCsrf, sessionCookieName } from '../../http/authenticate.js';
import { problems, type RoutesApp } from '../../http/schemas.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { Session } from '../../../shared/schemas/session.js';
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH } from '../../../shared/limits.js';
import type { UsersService } from '../users/users.service.js';
import { SESSION_TTL_SECONDS, type Sessions, type SessionView } from './sessions.service.js';

const SignInBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: EMAIL_MAX_LENGTH }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }) },
  { additionalProperties: false },
);
const SetupBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200, description: 'The token of the setup link printed at start' }),
    email: Type.String({ minLength: 1, maxLength: EMAIL_MAX_LENGTH }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
    name: Type.Optional(Type.String({ maxLength: NAME_MAX_LENGTH })),
  },
  { additionalProperties: false },
);

export interface SessionRoutesDeps {
  readonly config: Config;
  readonly sessions: Sessions;
  readonly users: UsersService;
}

/**
 * Console sign-in: `POST /api/v1/session` sets an HttpOnly, SameSite=Lax cookie
 * (Secure and `__Host-` over HTTPS); `DELETE` ends the session on the server. And the one-time
 * setup of the first Administrator.
 */
export async function sessionRoutes(app: RoutesApp, deps: SessionRoutesDeps): Promise<void> {
  const { config, sessions, users } = deps;
  const cookieName = sessionCookieName(config);
  const secure = config.issuer.startsWith('https:');
  const tags = ['session'];

  const setCookie = (reply: FastifyReply, token: string) =>
    reply.setCookie(cookieName, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: SESSION_TTL_SECONDS });

  const currentSession = async (request: FastifyRequest): Promise<{ token: string; session: SessionView }> => {
    const token = request.cookies[cookieName];
    const session = token === undefined ? null : await sessions.find(token);
    if (token === undefined || session === null) throw new Unauthenticated('no session: sign in first');
    return { token, session };
  };

  app.post(
    '/api/v1/session',
    {
      schema: {
        summary: 'Sign in to the console',
        description: 'Sets the session cookie. Throttled per account and per address.',
        tags,
        security: [],
        body: SignInBody,
        response: { 200: Ref(Session), ...problems(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const signedIn = await sessions.signIn(request.body.email, request.body.password, {
        address: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      setCookie(reply, signedIn.token).header('Cache-Control', 'no-store');
      return {
        user: { id: signedIn.user.id, email: signedIn.user.email, name: signedIn.user.name },
        csrfToken: signedIn.csrfToken,
        expiresAt: signedIn.expiresAt,
      };
    },
  );

  app.get(
    '/api/v1/session',
    { schema: { summary: 'The current console session', tags, security: [{ cookie: [] }], response: { 200: Ref(Session), ...problems(401, 503) } } },
    async (request, reply) => {
      const { session } = await currentSession(request);
      void reply.header('Cache-Control', 'no-store');
      return { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );

  app.delete(
    '/api/v1/session',
    {
      schema: {
        summary: 'Sign out: the session ends on the server',
        tags,
        security: [{ cookie: [] }],
        response: { 204: { type: 'null' }, ...problems(401, 403, 503) },
      },
    },
    async (request, reply) => {
      const { token, session } = await currentSession(request);
      checkCsrf(request, [new URL(config.issuer).origin], (presented) => sessions.csrfMatches(session, presented));
      await sessions.signOut(token, session.actor);
      return reply.clearCookie(cookieName, { path: '/', secure, httpOnly: true, sameSite: 'lax' }).code(204).send();
    },
  );

  app.get(
    '/api/v1/setup',
    {
      schema: {
        summary: 'Whether the first Administrator still has to be created',
        tags,
        security: [],
        response: { 200: Type.Object({ required: Type.Boolean() }, { additionalProperties: false }) },
      },
    },
    async () => ({ required: (await users.count()) === 0 }),
  );

  app.post(
    '/api/v1/setup',
    {
      schema: {
        summary: 'Create the first Administrator with the one-time setup token',
        description: 'Works once, while no user exists; signs the new Administrator in.',
        tags,
        security: [],
        body: SetupBody,
        response: { 201: Ref(Session), ...problems(400, 403, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const { token, email, password, name } = request.body;
      await users.completeSetup(token, { email, password, name: name ?? null }, { address: request.ip });
      const signedIn = await sessions.signIn(email, password, { address: request.ip, userAgent: request.headers['user-agent'] ?? null });
      setCookie(reply, signedIn.token).header('Cache-Control', 'no-store').code(201);
      return {
        user: { id: signedIn.user.id, email: signedIn.user.email, name: signedIn.user.name },
        csrfToken: signedIn.csrfToken,
        expiresAt: signedIn.expiresAt,
      };
    },
  );
}
