import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, sample } from './exposition.js';
import { post, setup, type Setup } from './setup.js';

let t: Setup | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const scrape = async () => {
  const res = await t!.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return parseExposition(res.body);
};

describe('jobsPlugin({ metrics })', () => {
  it('serves prom-client’s process metrics by default: CPU, heap, GC, event-loop lag', async () => {
    t = await setup();
    const families = await scrape();
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ])
      expect(families.has(name), name).toBe(true);
    expect(families.has('scalable_api_jobs_queued')).toBe(true);
  });

  it('adds its metrics to your registry and serves your own with them; closing the app takes only its own out', async () => {
    const registry = new Registry();
    const orders = new Counter({ name: 'shop_orders_total', help: 'Orders placed.', registers: [registry] });
    t = await setup({ plugin: { metrics: { registry } } });
    orders.inc(3);
    await post(t.app, '/jobs/echo', {});
    const families = await scrape();
    expect(sample(families, 'shop_orders_total')).toBe(3);
    expect(sample(families, 'scalable_api_jobs_submitted_total')).toBe(1);
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
    // Your registry has the plugin's metrics too (scrape it yourself if you like), not the process ones.
    expect(await registry.getSingleMetricAsString('scalable_api_jobs_submitted_total')).toMatch(/^scalable_api_jobs_submitted_total 1$/m);
    expect(registry.getSingleMetric('process_cpu_user_seconds_total')).toBeUndefined();
    await t.close();
    t = undefined;
    expect(registry.getMetricsAsArray().map((metric) => metric.name)).toEqual(['shop_orders_total']);
  });

  it('serves the process metrics of your registry once when it already has them, and none with defaultMetrics: false', async () => {
    t = await setup({ plugin: { metrics: { defaultMetrics: false } } });
    const without = await scrape();
    expect([...without.keys()].filter((name) => !name.startsWith('scalable_api_'))).toEqual([]);
    await t.close();

    const registry = new Registry();
    const { collectDefaultMetrics } = await import('prom-client');
    collectDefaultMetrics({ register: registry });
    t = await setup({ plugin: { metrics: { registry } } });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.body.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });

  it('counts nothing and has no /metrics with metrics: false', async () => {
    t = await setup({ plugin: { metrics: false } });
    await post(t.app, '/jobs/echo', {});
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
