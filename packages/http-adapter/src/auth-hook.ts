import { createHash, timingSafeEqual } from 'node:crypto';
import { isTenant, tenantPattern } from '@scalable-api/core';
import type { FastifyRequest } from 'fastify';
import { HttpProblemError } from './problem.js';

/**
 * Who may call the job routes, and which tenant each caller is. A credential arrives as
 * `Authorization: Bearer <token>` or in the API-key header (default `x-api-key`).
 */
export interface AuthOptions {
  /** Static API keys (or bearer tokens) and the tenant each belongs to. */
  keys?: ReadonlyArray<{ key: string; tenant: string }>;
  /**
   * Your own check (a JWT, a session lookup): the tenant for a valid credential, `undefined` to
   * refuse. Runs when no static key matched.
   */
  verify?: (credential: string, request: FastifyRequest) => string | undefined | Promise<string | undefined>;
  /** The header that carries an API key. Default `x-api-key`. */
  header?: string;
}

/**
 * Builds the resolver the onRequest hook calls: the caller's tenant, or a 401 problem. Keys are
 * compared as SHA-256 digests with `timingSafeEqual`: digests have equal length whatever the
 * key's length, so neither the content nor the length of a key leaks through timing, and every
 * key is compared (no early exit) for the same reason.
 */
export function createAuthenticator(options: AuthOptions): (request: FastifyRequest) => Promise<string> {
  const header = (options.header ?? 'x-api-key').toLowerCase();
  const keys = (options.keys ?? []).map(({ key, tenant }) => {
    if (key.length < 16) throw new TypeError('jobsPlugin auth: API keys must be at least 16 characters');
    assertTenant(tenant);
    return { digest: digest(key), tenant };
  });
  const challenge = { 'www-authenticate': 'Bearer realm="jobs"' };

  return async function authenticate(request) {
    const credential = credentialOf(request, header);
    if (credential === undefined) throw new HttpProblemError('UNAUTHORIZED', 'Send an API key or a bearer token.', { headers: challenge });
    const presented = digest(credential);
    let tenant: string | undefined;
    for (const key of keys) {
      if (timingSafeEqual(presented, key.digest) && tenant === undefined) tenant = key.tenant;
    }
    if (tenant === undefined && options.verify) {
      tenant = await options.verify(credential, request);
      if (tenant !== undefined) assertTenant(tenant);
    }
    if (tenant === undefined) throw new HttpProblemError('UNAUTHORIZED', 'The credential is not valid.', { headers: challenge });
    return tenant;
  };
}

function credentialOf(request: FastifyRequest, header: string): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S{1,4096})\s*$/i.exec(authorization);
    return match?.[1];
  }
  const key = request.headers[header];
  if (typeof key === 'string' && key.length > 0 && key.length <= 4096) return key;
  return undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function assertTenant(tenant: string): void {
  if (!isTenant(tenant)) throw new TypeError(`jobsPlugin: tenant ${JSON.stringify(tenant)} must match ${tenantPattern}`);
}
