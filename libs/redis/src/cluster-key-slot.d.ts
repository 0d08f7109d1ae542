// ioredis' own slot function (a dependency of ioredis), which ships no types.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Buffer): number;
}
