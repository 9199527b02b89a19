// ESM TypeScript through ts-jest; run with NODE_OPTIONS=--experimental-vm-modules (see package.json).
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^#native$': '<rootDir>/native/index.js', '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: { warnOnly: false } }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // the cross-check tools (tshark, tcpdump…), installed once when missing
  globalSetup: '<rootDir>/test/global-setup.mjs',
  // Host tests share the machine's netlink; the kernel suite boots one guest per file.
  maxWorkers: 2,
  // A bound for a hung test, not a speed target: generous, so that a machine busy with other work passes.
  testTimeout: 180_000,
}
