import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQuickstart, type Quickstart } from '../../../examples/quickstart/src/quickstart-app.js';
import { listen as listenOn } from './listen.js';

/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, never a downloaded
 * build), against the quickstart's real demo jobs. Under CI a missing browser fails the run;
 * on a laptop without one these tests skip, and say so.
 */
const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const haveBrowser = existsSync(executablePath);
if (!haveBrowser && process.env['CI'])
  throw new Error(`dashboard browser tests: no browser at ${executablePath} under CI (.ci/run installs chromium)`);
if (!haveBrowser) console.warn(`\n  !! dashboard browser tests SKIPPED: no browser at ${executablePath} (apt-get install chromium)\n`);

const apiKey = 'dashboard-test-key-0123456789';
/** Set to a folder to write the README screenshots there. */
const screenshots = process.env['DASHBOARD_SCREENSHOTS'];

describe.skipIf(!haveBrowser)('dashboard (headless Chromium)', () => {
  let quickstart: Quickstart;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    quickstart = await createQuickstart({
      workers: 4,
      queueLimit: 1_000,
      logger: false,
      // acme administers the system too: the schedules and flow panels are an admin's.
      plugin: { auth: { keys: [{ key: apiKey, tenant: 'acme' }] }, adminTenants: ['acme'], dashboard: { updatesPerSecond: 10 } },
    });
    base = await listenOn(quickstart.app);
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // Basic auth, as a person would type it into the browser's prompt: the key is the password.
    context = await browser.newContext({ httpCredentials: { username: 'me', password: apiKey }, viewport: { width: 1280, height: 860 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await quickstart?.shutdown(0);
  });

  async function submit(name: string, input: unknown): Promise<string> {
    const response = await fetch(`${base}/jobs/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify(input),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  }

  /** Script errors and console errors (a CSP violation among them) of the pages under test. */
  const pageErrors: string[] = [];
  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  async function open(hash = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    const response = await page.goto(`${base}/jobs/dashboard${hash}`);
    expect(response?.status()).toBe(200);
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live');
    return page;
  }

  const counter = async (page: Page, name: string) => Number(await page.getByTestId(`counter-${name}`).textContent());

  it('loads, shows the actors, and its counters move while jobs run', async () => {
    const page = await open();
    await expect.poll(() => page.getByTestId('health').textContent()).toBe('healthy');
    await expect.poll(() => page.getByTestId('worker').count()).toBe(4);
    expect(await page.getByTestId('supervisor').textContent()).toContain('supervisor healthy');
    const before = await counter(page, 'completed');
    const ids = await Promise.all(Array.from({ length: 12 }, () => submit('sleep', { ms: 1_200 })));
    // Four workers, twelve jobs of 1.2 s: the page must show work running, then all of it done.
    // The node samples its workers every second (sampleMs), so the jobs run for longer than
    // several samples: with 300 ms jobs the 0.9 s of work could fall between two samples.
    await expect.poll(() => page.locator('[data-testid=worker][data-state=running]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => counter(page, 'completed'), { timeout: 15_000 }).toBe(before + ids.length);
    await expect.poll(() => page.locator('[data-testid=job-row][data-status=completed]').count()).toBeGreaterThanOrEqual(ids.length);
    // The key belongs to a tenant: its counters are its own jobs', and the node-wide charts,
    // which count every tenant's, are not shown.
    expect(await page.locator('body').getAttribute('data-scope')).toBe('tenant');
    expect(await page.getByTestId('chart-rate').isVisible()).toBe(false);
    if (screenshots) {
      await mkdir(screenshots, { recursive: true });
      await page.screenshot({ path: `${screenshots}/dashboard.png` });
    }
    await page.close();
  });

  it('filters the job list by status and name', async () => {
    await submit('echo', { hello: 'filter' });
    const page = await open();
    await page.getByTestId('filter-name').selectOption('echo');
    // The rows shown before the filter stay until the filtered list arrives: wait for it.
    await expect.poll(async () => [...new Set(await page.locator('[data-testid=job-row] td:nth-child(2)').allTextContents())]).toEqual(['echo']);
    await page.getByTestId('filter-status').selectOption('failed');
    await expect.poll(() => page.getByTestId('job-row').count()).toBe(0);
    await page.close();
  });

  it("pages through the store's listing (every job, not only the recent ones), filtered, with Next page", async () => {
    // More jobs of one name than a page holds (50): the first page is full and has a next one.
    const ids = await Promise.all(Array.from({ length: 55 }, (_, i) => submit('echo', { page: i })));
    const page = await open();
    await page.getByTestId('filter-name').selectOption('echo');
    await expect.poll(() => page.getByTestId('all-row').count()).toBe(50);
    const seen = new Set<string>();
    for (let n = 0; n < 20; n++) {
      const names = await page.locator('[data-testid=all-row] td:nth-child(2)').allTextContents();
      expect(new Set(names)).toEqual(new Set(['echo']));
      const shown = await page.locator('[data-testid=all-row] a').allTextContents();
      for (const id of shown) seen.add(id);
      if (await page.getByTestId('all-next').isDisabled()) break;
      await page.getByTestId('all-next').click();
      await expect.poll(async () => (await page.locator('[data-testid=all-row] a').allTextContents()).join()).not.toBe(shown.join());
    }
    expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    await page.getByTestId('filter-status').selectOption('completed');
    await expect
      .poll(async () => new Set(await page.locator('[data-testid=all-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))))
      .toEqual(new Set(['completed']));
    await page.close();
  });

  it('draws a fanout tree with one node per job and each node state', async () => {
    const id = await submit('fanout', { depth: 2, width: 3 });
    const page = await open(`#/job/${id}`);
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 15_000 }).toBe('completed');
    await expect.poll(() => page.locator('[data-testid=tree-node][data-status=completed]').count(), { timeout: 10_000 }).toBe(13);
    expect(await page.getByTestId('tree-node').count()).toBe(13);
    // Nested as the tree nests: 1 root, 3 children under it, 9 grandchildren under those.
    expect(await page.locator('[data-testid=tree] > ul > li > a[data-testid=tree-node]').count()).toBe(1);
    expect(await page.locator('[data-testid=tree] > ul > li > ul > li > a[data-testid=tree-node]').count()).toBe(3);
    expect(await page.locator('[data-testid=tree] > ul > li > ul > li > ul > li > a[data-testid=tree-node]').count()).toBe(9);
    expect(await page.getByTestId('job-result').textContent()).toContain('"leaves": 9');
    expect(await page.getByTestId('timeline-event').first().textContent()).toContain('job.queued');
    if (screenshots) await page.screenshot({ path: `${screenshots}/dashboard-tree.png` });
    await page.close();
  });

  it('cancels a running job from its page, and retries it as a new job', async () => {
    const id = await submit('sleep', { ms: 60_000 });
    const page = await open(`#/job/${id}`);
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 10_000 }).toBe('running');
    await page.getByTestId('cancel').click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 10_000 }).toBe('cancelled');
    expect((await quickstart.system.get(id))?.status).toBe('cancelled');
    await page.getByTestId('retry').click();
    await expect.poll(() => page.url()).not.toContain(id);
    const retried = /#\/job\/([\w-]+)$/.exec(page.url())![1]!;
    const record = await quickstart.system.get(retried);
    expect(record).toMatchObject({ name: 'sleep', input: { ms: 60_000 }, meta: { tenant: 'acme' } });
    await quickstart.system.cancel(retried);
    await page.close();
  });

  it('shows flow control per job type: a rate limit held by a push-back, and a type paused and resumed from its row', async () => {
    const page = await open();
    const row = (name: string) => page.locator(`[data-testid=flow-row][data-name=${name}]`);
    await expect.poll(() => row('upstream').textContent()).toContain('5 per 1000 ms');
    // The upstream answers 429 for the next minute: the job pushes its whole type back, on every node.
    const id = await submit('upstream', { busyUntil: Date.now() + 60_000 });
    await expect.poll(() => row('upstream').getByTestId('flow-held').textContent(), { timeout: 10_000 }).toContain('pushed back until');
    expect((await quickstart.system.get(id))?.status).toBe('queued');
    await quickstart.system.cancel(id);

    await row('echo').getByTestId('flow-pause').click();
    await expect.poll(() => row('echo').getAttribute('data-paused')).toBe('true');
    expect(await quickstart.system.paused()).toContain('echo');
    const ids = await Promise.all([1, 2, 3].map((n) => submit('echo', { paused: n })));
    // Held while paused, queued under the tenant's flow key.
    await expect
      .poll(async () => Number(await row('echo').locator('[data-testid=flow-key][data-key=acme] b').textContent()))
      .toBeGreaterThanOrEqual(3);
    await row('echo').getByTestId('flow-resume').click();
    await expect.poll(() => row('echo').getAttribute('data-paused')).toBe('false');
    for (const job of ids) await quickstart.system.waitResult(job, { signal: AbortSignal.timeout(10_000) });
    await page.close();
  });

  it('refuses a browser without credentials, and one with a wrong key', async () => {
    for (const options of [{}, { httpCredentials: { username: 'me', password: 'not-the-key-0123456789' } }]) {
      const stranger = await browser.newContext(options);
      const page = await stranger.newPage();
      // Chromium either shows the 401 or, having no (valid) answer to the Basic challenge, aborts
      // the navigation with ERR_INVALID_AUTH_CREDENTIALS; both are a refusal.
      const navigation = await page.goto(`${base}/jobs/dashboard`).then(
        (response) => response?.status(),
        (error: Error) => (/ERR_INVALID_AUTH_CREDENTIALS/.test(error.message) ? 'aborted' : error.message),
      );
      expect([401, 'aborted']).toContain(navigation);
      await stranger.close();
    }
    // With a wrong key the page's own requests come back 401. (Without any, a headless browser
    // holds such a request open on the unanswered prompt, so that case is asked from Node below.)
    const wrong = await browser.newContext({ httpCredentials: { username: 'me', password: 'not-the-key-0123456789' } });
    const page = await wrong.newPage();
    await page.goto(`${base}/health`);
    const statuses = await page.evaluate(async (prefix) => {
      const api = await fetch(`${prefix}/api/overview`);
      const live = await fetch(`${prefix}/api/live`);
      const cancel = await fetch(`${prefix}/api/jobs/x/cancel`, { method: 'POST', headers: { 'x-dashboard': '1' } });
      return [api.status, live.status, cancel.status];
    }, `${base}/jobs/dashboard`);
    expect(statuses).toEqual([401, 401, 401]);
    await wrong.close();
    for (const path of ['', '/app.js', '/api/overview', '/api/live']) {
      const response = await fetch(`${base}/jobs/dashboard${path}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
  });
});
