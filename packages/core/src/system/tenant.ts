/**
 * What a tenant may be: the HTTP adapter's API keys, its `tenant(request)` resolver and
 * `submit(..., { tenant })` in code all hold to this one rule, so a tenant given in code can be
 * matched by a caller's key.
 */
export const tenantPattern = /^[\w.:-]{1,128}$/;

export function isTenant(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && tenantPattern.test(tenant);
}

/**
 * The job's meta with `tenant` in `meta.tenant` (where the HTTP adapter and the store's listing
 * read it). A tenant that breaks the pattern is a caller's mistake: a TypeError, like other bad
 * options.
 */
export function withTenant(meta: Record<string, string> | undefined, tenant: string | undefined): Record<string, string> | undefined {
  if (tenant === undefined) return meta;
  if (!isTenant(tenant)) throw new TypeError(`submit: tenant ${JSON.stringify(tenant)} must match ${tenantPattern}`);
  return { ...meta, tenant };
}
