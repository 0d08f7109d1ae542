import { parentPort, workerData } from 'node:worker_threads';
import { PackedMessages, checkPacked } from './check-thread';
import { CheckConfig } from './saga-work';

/** The check thread (check-thread.ts): checks each batch it is sent, in order. */
const config = workerData as CheckConfig;
const port = parentPort;
if (!port) throw new Error('check-thread.worker runs only as a worker thread');
port.on('message', ({ id, packed }: { id: number; packed: PackedMessages }) => {
  try {
    const outcome = checkPacked(packed, config);
    const { valid, idHashes, types, committedAt } = outcome;
    const moved = [valid.buffer, idHashes.buffer, types.buffer, committedAt.buffer];
    port.postMessage({ id, outcome }, moved);
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
