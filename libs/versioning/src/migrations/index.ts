import { InitialSchema1732400000000 } from './1732400000000-initial-schema';

export const VERSIONING_MIGRATIONS = [InitialSchema1732400000000];
