export * from './recovery-meter.js';
export * from './missed-updates.js';
export * from './heal-messages.js';
export * from './heal-recovery.js';
export * from './digest/index.js';
export * from './heal-module.js';
export * from './full-copy.js';
export * from './leader-incremental.js';
