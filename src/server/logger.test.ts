import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, requestLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('the per-request logger', () => {
  it("writes a route's lines with the request id, redacted, and skips levels that are off", async () => {
    const { lines, destination } = capture();
    const logger = createLogger('warn', destination);
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: requestLogger });
    app.get('/', async (request) => {
      request.log.info('not written at warn');
      request.log.warn({ form: { client_secret: 'koios_cs_never' } }, 'written');
      return {};
    });
    app.get('/quiet', { logLevel: 'error' }, async (request) => {
      request.log.warn('not written: the route logs errors only');
      request.log.error('written too');
      return {};
    });
    await app.inject({ method: 'GET', url: '/' });
    await app.inject({ method: 'GET', url: '/quiet' });
    await app.close();
    expect(lines.map((line) => line['msg'])).toEqual(['written', 'written too']);
    expect(typeof lines[0]!['reqId']).toBe('string');
    expect(lines[0]!['reqId']).not.toBe(lines[1]!['reqId']);
    expect(lines[0]!['form']).toEqual({ client_secret: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain('koios_cs_never');
  });

  it("follows the server's level when it changes while running", async () => {
    const { lines, destination } = capture();
    const logger = createLogger('warn', destination);
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: requestLogger, disableRequestLogging: true });
    app.get('/', async (request) => {
      request.log.debug('debugging');
      return {};
    });
    await app.inject({ method: 'GET', url: '/' });
    logger.level = 'debug';
    await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(lines.map((line) => line['msg'])).toEqual(['debugging']);
  });
});
