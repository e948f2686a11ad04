import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own report, so
 * tools that read only the last line (CI) see how many tests ran. A run with none fails. Errors
 * outside any test (a type error found by the typecheck, an unhandled rejection) fail the run
 * too, and the line says so: a closing "0 failed" over a failed run misled a reader once.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const errors = unhandledErrors.length > 0 ? `, ${unhandledErrors.length} errors outside tests` : '';
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped${errors}`);
    if (passed + failed === 0) process.exitCode = 1;
  }
}
