/**
 * Runs vitest's global setup (test/setup/moto.ts) on its own, then its teardown, so a test can watch what a
 * run does before any test file starts. What the setup provides to tests is printed as `key=value` lines.
 *
 *   node test/support/run-moto-setup.ts
 */
import setup from '#test/setup/moto.ts';

type Project = Parameters<typeof setup>[0];

const project = {
  provide(key: string, value: unknown) {
    process.stdout.write(`${key}=${String(value)}\n`);
  },
} as unknown as Project;

const teardown = await setup(project);
await teardown();
