/** Seeded PRNG and message mutator shared by the fuzz tests. */
/** mulberry32: tiny, seeded, good enough for fuzzing. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = Buffer.from('\r\n :;,"<>%\\@[]=?\t\x00\xff/0123456789');

export function mutate(src: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(src);
  const ops = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < ops; k++) {
    const pos = Math.floor(rnd() * (b.length + 1));
    const op = Math.floor(rnd() * 6);
    if (op === 0 && b.length > 0) {
      b[Math.min(pos, b.length - 1)] ^= 1 << Math.floor(rnd() * 8); // bit flip
    } else if (op === 1 && b.length > 0) {
      b[Math.min(pos, b.length - 1)] = INTERESTING[Math.floor(rnd() * INTERESTING.length)]; // byte replace
    } else if (op === 2) {
      b = b.subarray(0, pos); // truncation
    } else if (op === 3) {
      const ins = Buffer.alloc(1 + Math.floor(rnd() * 8));
      for (let i = 0; i < ins.length; i++) ins[i] = rnd() < 0.5 ? INTERESTING[Math.floor(rnd() * INTERESTING.length)] : Math.floor(rnd() * 256);
      b = Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]); // insertion
    } else if (op === 4) {
      const len = Math.floor(rnd() * 64);
      b = Buffer.concat([b.subarray(0, pos), b.subarray(pos, pos + len), b.subarray(pos)]); // duplication
    } else {
      const len = Math.floor(rnd() * 16);
      b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + len)]); // deletion
    }
  }
  return b;
}

