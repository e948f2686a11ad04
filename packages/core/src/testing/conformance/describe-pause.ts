import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../store/job-store.js';
import type { PauseStore } from '../../store/schedule-store.js';
import { newJob, type ConformanceSetup } from './store-fixture.js';

/** Paused job types: kept queued and counted, never handed out, announced again on resume. */
export function describePause(setup: ConformanceSetup): void {
  describe('pause', () => {
    it('hands out no job of a paused type, keeps them queued and counted, and hands them out after resume', async ({ skip }) => {
      const { store, add, claim, signals, needs, status } = await setup();
      needs(skip, 'pause');
      const p = pausesOf(store);
      await p.pauseType('mail');
      await p.pauseType('mail');
      const [mail1, sms, mail2] = await add(newJob({ name: 'mail' }), newJob({ name: 'sms' }), newJob({ name: 'mail', priority: 5 }));
      expect(await p.pausedTypes()).toEqual(['mail']);
      expect((await claim('node-a')).jobs.map((j) => j.id)).toEqual([sms]);
      expect((await claim('node-a', { names: ['mail'] })).jobs).toEqual([]);
      expect(await store.counts()).toMatchObject({ queued: 2, running: 1 });
      expect(await status(mail1!)).toBe('queued');
      signals.clear();
      await p.resumeType('mail');
      await signals.waitFor((signal) => signal.type === 'work.available');
      expect(await p.pausedTypes()).toEqual([]);
      expect((await claim('node-b')).jobs.map((j) => j.id)).toEqual([mail2, mail1]);
    });

    it('keeps a type paused while its delayed jobs fall due, and lists the paused types', async ({ skip }) => {
      const { store, clock, add, claim, needs } = await setup();
      needs(skip, 'pause');
      const p = pausesOf(store);
      await p.pauseType('report');
      await p.pauseType('export');
      await add(newJob({ name: 'report', runAt: clock.now() + 1_000 }));
      await clock.advance(1_000);
      expect((await claim('node-a')).jobs).toEqual([]);
      expect(await store.counts()).toMatchObject({ queued: 1, delayed: 0 });
      expect(await p.pausedTypes()).toEqual(['export', 'report']);
      await p.resumeType('export');
      await p.resumeType('never-paused');
      expect(await p.pausedTypes()).toEqual(['report']);
    });
  });
}

function pausesOf(store: JobStore): PauseStore {
  if (!store.pauseType || !store.resumeType || !store.pausedTypes)
    throw new Error('the store declares supports.pause but lacks the PauseStore methods');
  return store as JobStore & PauseStore;
}
