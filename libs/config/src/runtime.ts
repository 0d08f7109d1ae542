import { hostname } from 'node:os';

/** This process among the service's instances: its incidents and its dashboard name it. */
export const INSTANCE_ID = `${hostname()}:${process.pid}`;

/** `work`, or a rejection (`{what}: no answer`) once `ms` pass without its answer. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
