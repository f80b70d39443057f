import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Suites start real workers, servers and child processes; two cores here.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
