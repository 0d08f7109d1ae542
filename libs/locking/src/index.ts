export { backoffDelay, sleep } from './backoff';
export { LockLostError, LockUnavailableError } from './errors';
export { LockService } from './lock.service';
export type { FencedLock, ReleaseOutcome } from './lock.service';
export { LockingModule } from './locking.module';
export { LockSweeper } from './lock-sweeper';
export type { SweptLock } from './lock-sweeper';
export { FenceTokenRepository } from './fence-token.repository';
export { LOCKING_MIGRATIONS } from './migrations';
