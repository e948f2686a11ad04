import { expect, it } from 'vitest';
import { ProcessGroup } from '../../../chaos/process-group.js';
import { killNodeScenario } from '../../../chaos/scenarios/kill-node.js';
import { describeWithRedis, redisUrl } from './redis-fixture.js';

/**
 * The quick part of `npm run chaos`, in CI: the kill -9 scenario with small numbers, on real
 * node processes and the real Redis. Every side effect is counted from the nodes' ledgers, so a
 * lost or doubly recorded job fails the test; recovery time is printed, never asserted.
 */
await describeWithRedis('chaos: kill -9 of a node holding running jobs', () => {
  it('completes every job of the killed node on the others, losing none', async () => {
    const group = new ProcessGroup();
    try {
      const report = await killNodeScenario({ group, redisUrl, runs: 1, running: 20, jobMs: 1_000, leaseMs: 1_000 });
      console.info(
        `chaos kill -9: lost ${report.lost} of ${report.accepted}, ${report.duplicated} duplicated, recovery ${report.recovery.length} samples, max ${Math.max(...report.recovery)} ms`,
      );
      expect(report.violations).toEqual([]);
      expect(report).toMatchObject({ runs: 1, accepted: 20, completed: 20, lost: 0 });
      expect(report.recovery).toHaveLength(20);
    } finally {
      await group.killAll();
    }
    // Generous: three node processes start under whatever else CI runs at the same time.
  }, 90_000);
});
