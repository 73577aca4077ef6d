import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Paths that may carry a secret, a password or a token. Request bodies and query
 * strings are never logged at all (see the request serializer in app.ts); this is the second line.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.access_token',
  '*.token',
  '*.secret',
];

/** The path of a request without its query string: a query may carry credentials. */
export function pathOnly(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'koios-access' },
      serializers: {
        // Method, path and address only: no headers, no query string, no body.
        req: (req: RequestLike) => ({ id: req.id, method: req.method, path: pathOnly(req.url ?? ''), remoteAddress: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}

type LogArguments = [unknown, ...unknown[]];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger that becomes pino's child (bound to the request id) on the first line it
 * actually writes. Fastify makes a child per request, and pino makes one by serialising its
 * bindings through the redaction paths: about a microsecond and a few objects on every request
 * (the redaction showed in `/me`'s CPU profile), though at `info` and above nothing is written per
 * request. A line at a level that is off costs a comparison, as it does on pino's own child.
 */
class RequestLogger {
  #child: Logger | undefined;
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #logger(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options));
  }

  #write(level: Level, args: LogArguments): void {
    if (this.#child !== undefined) {
      (this.#child[level] as (...line: LogArguments) => void)(...args);
      return;
    }
    // A route's own level (Fastify's logLevel option), else the server's, which may change while running.
    const threshold = this.#options.level === undefined ? this.#parent.levelVal : this.#parent.levels.values[this.#options.level];
    if (threshold !== undefined && this.#parent.levels.values[level]! < threshold) return;
    (this.#logger()[level] as (...line: LogArguments) => void)(...args);
  }

  get level(): string {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: LogArguments): void {
    this.#write('fatal', args);
  }
  error(...args: LogArguments): void {
    this.#write('error', args);
  }
  warn(...args: LogArguments): void {
    this.#write('warn', args);
  }
  info(...args: LogArguments): void {
    this.#write('info', args);
  }
  debug(...args: LogArguments): void {
    this.#write('debug', args);
  }
  trace(...args: LogArguments): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#logger().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: the request's logger, made into pino's child only when it writes. */
export function requestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(parent as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
