import { InitialSchema1732400000000 } from './1732400000000-initial-schema';
import { OffsetLedger1733000000000 } from './1733000000000-offset-ledger';
import { LedgerPartitionIndex1734000000000 } from './1734000000000-ledger-partition-index';

export const VERSIONING_MIGRATIONS = [
  InitialSchema1732400000000,
  OffsetLedger1733000000000,
  LedgerPartitionIndex1734000000000,
];
