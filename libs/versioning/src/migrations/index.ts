import { InitialSchema1732400000000 } from './1732400000000-initial-schema';
import { OffsetLedger1733000000000 } from './1733000000000-offset-ledger';

export const VERSIONING_MIGRATIONS = [InitialSchema1732400000000, OffsetLedger1733000000000];
