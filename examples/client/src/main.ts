// docs/client.md walks through this file; packages/client/test/example.test.ts runs it and checks what it prints.
import type { AddressInfo } from 'node:net';
import { createClient, isProblem, JobFailedError } from '@scalable-api/client';
// A type-only import: the server's job definitions type the client, none of their code comes along.
import type { QuickstartJobs } from '../../quickstart/src/demo-jobs.js';
import { createQuickstart } from '../../quickstart/src/quickstart-app.js';

// The quickstart server (what `npm start` runs), on a free loopback port.
const server = await createQuickstart({ workers: 8, queueLimit: 1_000, logger: false, dashboard: false });
await server.app.listen({ port: 0, host: '127.0.0.1' });
const baseUrl = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/jobs`;

const client = createClient<QuickstartJobs>({ baseUrl });

// submit: 202 and a handle; result() waits for the output, typed from the job's definition.
const echo = await client.submit('echo', { hello: 'world' });
console.log('echo:', JSON.stringify(await echo.result()));

// wait: Prefer: wait=N, the outcome in the answer when the job settles within N seconds.
const slept = await client.wait('sleep', { ms: 20 }, { seconds: 10 });
if (slept.outcome?.status === 'completed') console.log('wait:', slept.outcome.output.sleptMs, 'ms');

// events: every event of a whole tree, resumed by itself after a dropped connection.
const tree = await client.submit('fanout', { depth: 2, width: 3 });
let completed = 0;
let progress = 0;
for await (const event of tree.events({ tree: true })) {
  if (event.type === 'job.completed') completed++;
  if (event.type === 'tree.progress') progress = event.progress;
}
console.log('tree:', completed, 'jobs completed, progress', progress, '-', (await tree.result()).leaves, 'leaves');

// Problems: the server's problem+json as a typed error, every issue with its path.
try {
  // @ts-expect-error ms must be a number: the compiler says so before the server does
  await client.submit('sleep', { ms: 'long' });
} catch (error) {
  if (isProblem(error, 'INPUT_INVALID')) console.log('refused:', error.code, JSON.stringify(error.problem.issues?.map((issue) => issue.path)));
}

// cancel: the job and its subtree; result() then rejects with the job's error code.
const long = await client.submit('sleep', { ms: 60_000 });
await long.cancel();
await long.result().catch((error: unknown) => {
  if (error instanceof JobFailedError) console.log('cancelled:', error.code);
});

await server.shutdown(1_000);
