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
  /** Status code → count, to explain non-2xx answers. */
  readonly statuses: Readonly<Record<string, number>>;
}

export interface LoadRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export const CONNECTIONS = 50;

/** `seconds` of load on one request: 50 keep-alive connections, pipelining 1 (autocannon's default). */
export async function load(request: LoadRequest, seconds: number): Promise<LoadSample> {
  const result = await autocannon({
    url: request.url,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    method: request.method ?? 'GET',
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(request.body === undefined ? {} : { body: request.body }),
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
    statuses,
  };
}
