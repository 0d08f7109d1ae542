import { InitialSchema1732400000000 } from './1732400000000-initial-schema';
import { Incidents1732500000000 } from './1732500000000-incidents';

export const VERSIONING_MIGRATIONS = [InitialSchema1732400000000, Incidents1732500000000];
