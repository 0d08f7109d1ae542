import { z } from 'zod';

/** A data type an operator may bump by hand: lower-case, at most 64 characters. */
export const dataTypeName = z
  .string()
  .regex(/^[a-z0-9_.:-]{1,64}$/, 'a data type is 1-64 characters of [a-z0-9_.:-]');

/** Body of POST /admin/versions/bump. */
export const manualBumpRequest = z.strictObject({
  types: z.array(dataTypeName).min(1).max(20),
});

export type ManualBumpRequest = z.output<typeof manualBumpRequest>;
