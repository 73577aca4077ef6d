import autocannon from 'autocannon';

/** One load run's measurements, as autocannon reports them. */
export interface LoadSample {
  /** Mean of the per-second request counts. */
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly non2xx: number;
  readonly requests: number;
  /** One-use parts the generator had to sign during the run, once the pool was used up. */
  readonly signedDuringRun: number;
  /** Status code → count, to explain non-2xx answers. */
  readonly statuses: Readonly<Record<string, number>>;
}

export interface LoadRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** What changes on every request of a run (a DPoP proof, a client assertion): each is sent once. */
export interface OneUsePart {
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Parts signed before the run, and how to sign one more if the run outlasts them. */
export interface OneUseParts {
  readonly pool: readonly OneUsePart[];
  more(): OneUsePart;
}

export const CONNECTIONS = 50;

/**
 * `seconds` of load on one request: 50 keep-alive connections, pipelining 1 (autocannon's default).
 * With `oneUse`, each request takes the next part of the pool in turn (merged into the request's
 * headers and body), across all connections, and then parts signed on the spot, which it counts.
 */
export async function load(request: LoadRequest, seconds: number, oneUse?: OneUseParts): Promise<LoadSample> {
  let next = 0;
  const perRequest =
    oneUse === undefined
      ? {}
      : {
          requests: [
            {
              setupRequest: (built: { headers?: Record<string, string>; body?: string }) => {
                const part = next < oneUse.pool.length ? oneUse.pool[next]! : oneUse.more();
                next += 1;
                return { ...built, headers: { ...built.headers, ...part.headers }, ...(part.body === undefined ? {} : { body: part.body }) };
              },
            },
          ],
        };
  const result = await autocannon({
    url: request.url,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    method: request.method ?? 'GET',
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(request.body === undefined ? {} : { body: request.body }),
    ...perRequest,
  });
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    requests: result.requests.total,
    signedDuringRun: oneUse === undefined ? 0 : Math.max(0, next - oneUse.pool.length),
    statuses,
  };
}
