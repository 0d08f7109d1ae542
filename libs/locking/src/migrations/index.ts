import { FenceSequence1732400000001 } from './1732400000001-fence-sequence';

export const LOCKING_MIGRATIONS = [FenceSequence1732400000001];
