// The trivial task of bench/runtime/pool.mjs, for every pool it compares
// (ours, Piscina's worker threads; Python's is inline in the bench).
export function square(x) {
  return x * x;
}

// Piscina calls the default export.
export default square;
