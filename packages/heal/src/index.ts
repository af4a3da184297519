export * from './recovery-meter.js';
