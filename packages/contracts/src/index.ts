export * from './analytics';
export * from './commerce';
export * from './event-data';
export * from './events';
export * from './permissions';
export * from './problem';
export * from './realtime';
export * from './uuid';
export type * as Web from './web';
